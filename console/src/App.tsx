import { useCallback, useEffect, useMemo, useState } from 'react';
import { Provider } from 'urql';
import type { Connection } from './client';
import { connect } from './client';
import type { Locale, MessageKey } from './i18n';
import { I18nContext, LOCALES, initialLocale, rememberLocale, translator } from './i18n';
import { KeysPage } from './KeysPage';
import { expiryOf, storeToken, storedToken, takeTokenFromFragment } from './session';
import { SignIn } from './SignIn';

export interface ConsoleOptions {
  /** keyhub's GraphQL endpoint; default: /graphql of the page's origin. */
  graphqlUrl?: string;
  /** For a platform embedding the console: supplies the user's JWT (no sign-in screen, no sign-out). */
  getToken?: () => string | Promise<string>;
  locale?: Locale;
}

const isLive = (token: string): boolean => {
  const expiry = expiryOf(token);
  return expiry === null || expiry > Date.now();
};

export function App(options: ConsoleOptions) {
  const graphqlUrl = options.graphqlUrl ?? new URL('/graphql', window.location.href).toString();
  const embedded = Boolean(options.getToken);
  const [locale, setLocale] = useState<Locale>(() => initialLocale(options.locale));
  const [token, setToken] = useState<string | null>(() => {
    if (embedded) return null;
    const fromLink = takeTokenFromFragment();
    if (fromLink) storeToken(fromLink);
    return storedToken();
  });
  const [notice, setNotice] = useState<MessageKey | null>(() => (token && !isLive(token) ? 'sessionExpired' : null));
  // A sign-in link opened in a tab that already shows the console changes only the fragment.
  useEffect(() => {
    if (embedded) return;
    const onHashChange = () => {
      const fromLink = takeTokenFromFragment();
      if (!fromLink) return;
      storeToken(fromLink);
      setNotice(isLive(fromLink) ? null : 'sessionExpired');
      setToken(fromLink);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, [embedded]);
  const [reachable, setReachable] = useState(true);
  const [live, setLive] = useState(false);
  const [regions, setRegions] = useState<string[]>([]);
  const [region, setRegion] = useState('');
  const i18n = useMemo(() => ({ t: translator(locale), locale }), [locale]);
  useEffect(() => {
    document.documentElement.lang = locale;
    document.title = `${i18n.t('product')} · ${i18n.t('appTitle')}`;
  }, [locale, i18n]);

  const signOut = useCallback(
    (reason: MessageKey | null) => {
      if (embedded) return setNotice('embeddedExpired');
      storeToken(null);
      setToken(null);
      setNotice(reason);
    },
    [embedded],
  );

  const liveToken = token && isLive(token) ? token : null;
  const [connection, setConnection] = useState<Connection | null>(null);
  useEffect(() => {
    if (!liveToken && !embedded) return;
    const getToken = options.getToken ?? (() => liveToken as string);
    const created = connect(graphqlUrl, getToken, {
      onUnauthenticated: () => signOut('sessionExpired'),
      onReachable: (ok) => {
        setReachable(ok);
        // Embedded: the host's next token worked, so the expiry notice no longer applies.
        if (ok && embedded) setNotice(null);
      },
      onLive: setLive,
    });
    setConnection(created);
    // Sign out when the token runs out, rather than failing request by request.
    const expiry = liveToken ? expiryOf(liveToken) : null;
    const timer = expiry ? setTimeout(() => signOut('sessionExpired'), Math.min(expiry - Date.now(), 2 ** 31 - 1)) : null;
    return () => {
      if (timer) clearTimeout(timer);
      created.dispose();
      setConnection(null);
      setLive(false);
    };
  }, [liveToken, embedded, graphqlUrl, options.getToken, signOut]);

  const t = i18n.t;
  const signedIn = connection && (embedded || liveToken);
  return (
    <I18nContext.Provider value={i18n}>
      <header className="top">
        <span className="brand">{t('product')}</span>
        {signedIn && (
          <label>
            {t('region')}
            <select value={region} onChange={(event) => setRegion(event.target.value)}>
              <option value="">{t('allRegions')}</option>
              {[...new Set([...regions, ...(region ? [region] : [])])].map((id) => (
                <option key={id} value={id}>
                  {id}
                </option>
              ))}
            </select>
          </label>
        )}
        <span className="spacer" />
        {signedIn && live && (
          <span className="live" role="status">
            ● {t('live')}
          </span>
        )}
        <label>
          {t('language')}
          <select
            value={locale}
            onChange={(event) => {
              const next = event.target.value as Locale;
              rememberLocale(next);
              setLocale(next);
            }}
          >
            {LOCALES.map((option) => (
              <option key={option.id} value={option.id} lang={option.id}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
        {signedIn && !embedded && (
          <button type="button" onClick={() => signOut(null)}>
            {t('signOut')}
          </button>
        )}
      </header>
      {embedded && notice && (
        <div className="banner" role="alert">
          {t(notice)}
        </div>
      )}
      {!reachable && (
        <div className="banner" role="alert">
          {t('offline')}
        </div>
      )}
      {signedIn ? (
        <Provider value={connection.client}>
          <KeysPage connection={connection} region={region} onRegionsKnown={setRegions} />
        </Provider>
      ) : embedded ? (
        <main>{notice && <p className="error" role="alert">{t(notice)}</p>}</main>
      ) : (
        <SignIn
          graphqlUrl={graphqlUrl}
          notice={notice}
          onSignedIn={(next) => {
            storeToken(next);
            setNotice(null);
            setToken(next);
          }}
        />
      )}
    </I18nContext.Provider>
  );
}
