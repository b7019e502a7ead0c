import { useState } from 'react';
import type { MessageKey } from './i18n';
import { useT } from './i18n';
import { Field } from './ui';

/** The sign-in screen: a JWT typed or pasted in, tried on the public API before it is kept. */
export function SignIn(props: { graphqlUrl: string; notice: MessageKey | null; onSignedIn: (token: string) => void }) {
  const t = useT();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<MessageKey | null>(null);
  return (
    <main className="sign-in">
      <h1>{t('signInTitle')}</h1>
      {props.notice && (
        <p className="warning" role="alert">
          {t(props.notice)}
        </p>
      )}
      <p>{t('signInHelp')}</p>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const candidate = token.trim().replace(/^Bearer\s+/i, '');
          if (!candidate) return;
          setBusy(true);
          setError(null);
          // Try the token on the public API before keeping it.
          try {
            const response = await fetch(props.graphqlUrl, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${candidate}` },
              body: JSON.stringify({ query: '{ accountQuota { used } }' }),
            });
            const body = (await response.json()) as { data?: unknown };
            if (body.data) props.onSignedIn(candidate);
            else setError('tokenRefused');
          } catch {
            setError('offline');
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field label={t('tokenLabel')} error={error ? t(error) : undefined}>
          {({ id, describedBy, invalid }) => (
            <input id={id} type="password" autoComplete="off" spellCheck={false} value={token} aria-describedby={describedBy} aria-invalid={invalid} onChange={(event) => setToken(event.target.value)} required />
          )}
        </Field>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('signingIn') : t('signIn')}
        </button>
      </form>
    </main>
  );
}
