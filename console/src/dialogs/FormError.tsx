import { useQuery } from 'urql';
import type { ApiError } from '../apiErrors';
import type { KeyFieldsFragment } from '../gql/graphql';
import type { Translate } from '../i18n';
import { useT } from '../i18n';
import { scopeSummary, serverFieldOf } from '../keyForm';
import { KeyQuery } from '../operations';

/** The message for an error that has no field of its own to sit next to; null when it does (or when sign-in takes over). */
export function formErrorText(error: ApiError | null, t: Translate, limit?: number): string | null {
  if (!error || serverFieldOf(error) || error.code === 'UNAUTHENTICATED') return null;
  if (error.code === 'CONFLICT') return t('conflict');
  if (error.code === 'NETWORK') return t('offline');
  if (error.code === 'QUOTA_EXCEEDED') return limit === undefined ? t('quotaExceededPlain') : t('quotaExceeded', { limit });
  return t('genericError', { message: error.message });
}

export function FormError({ error, limit }: { error: ApiError | null; limit?: number }) {
  const t = useT();
  const text = formErrorText(error, t, limit);
  return text ? (
    <p className="error form-error" role="alert">
      {text}
    </p>
  ) : null;
}

/** CONFLICT: someone changed the key since the dialog opened. Shows the key as it is now; Reload takes it over. */
export function ConflictNotice({ keyId, onReload }: { keyId: string; onReload: (fresh: KeyFieldsFragment) => void }) {
  const t = useT();
  const [{ data }] = useQuery({ query: KeyQuery, variables: { id: keyId } });
  const fresh = data?.apiKey;
  return (
    <div className="error form-error" role="alert">
      <p>{t('conflict')}</p>
      {fresh && (
        <>
          <p>{t('freshValues', { name: fresh.name, description: fresh.description ?? '', scope: scopeSummary(fresh, t) })}</p>
          <button type="button" onClick={() => onReload(fresh)}>
            {t('reload')}
          </button>
        </>
      )}
    </div>
  );
}
