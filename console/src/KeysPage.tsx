import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { apiErrorOf } from './apiErrors';
import type { Connection } from './client';
import { CreateDialog } from './dialogs/CreateDialog';
import { DeleteDialog } from './dialogs/DeleteDialog';
import { EditDialog } from './dialogs/EditDialog';
import { ExpiryDialog } from './dialogs/ExpiryDialog';
import { HistoryDialog } from './dialogs/HistoryDialog';
import { RotateDialog } from './dialogs/RotateDialog';
import { SecretDialog } from './dialogs/SecretDialog';
import { UsageDialog } from './dialogs/UsageDialog';
import { scopeSummary } from './keyForm';
import type { ApiKeyOrder, ApiKeyStatus, KeyFieldsFragment } from './gql/graphql';
import { useT } from './i18n';
import { followKeyEvents } from './liveFeed';
import { KeysPageQuery, RegionsQuery, SetStatusMutation } from './operations';
import { formatTime, zoneLabel } from './time';
import { CopyButton, MenuButton } from './ui';

type Key = KeyFieldsFragment;
type Open =
  | { kind: 'create' }
  | { kind: 'secret'; secret: string; keyName: string; previousValidUntil?: string }
  | { kind: 'name' | 'details' | 'rotate' | 'expiry' | 'history' | 'usage' | 'delete'; apiKey: Key }
  | null;

export const PAGE_SIZE = 10;
const ORDERS: ApiKeyOrder[] = ['CREATED_AT_DESC', 'CREATED_AT_ASC', 'LAST_USED_DESC', 'NAME_ASC'];
const DAY_MS = 86_400_000;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** The API Keys page of the seeds: toolbar, list, row actions, dialogs; live through the event feed. */
export function KeysPage(props: { connection: Connection; region: string; onRegionsKnown: (regions: string[]) => void }) {
  const t = useT();
  const { region } = props;
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<ApiKeyStatus | ''>('');
  const [unusedDays, setUnusedDays] = useState('');
  const [orderBy, setOrderBy] = useState<ApiKeyOrder>('CREATED_AT_DESC');
  const [cursors, setCursors] = useState<string[]>([]);
  const [open, setOpen] = useState<Open>(null);
  const debouncedSearch = useDebounced(search.trim(), 250);
  const days = /^\d{1,4}$/.test(unusedDays) && Number(unusedDays) > 0 ? Number(unusedDays) : null;
  // Computed when the number of days changes, not at every render (that would re-run the query each time).
  const unusedSince = useMemo(() => (days === null ? null : new Date(Date.now() - days * DAY_MS).toISOString()), [days]);
  const filtersKey = JSON.stringify([region, debouncedSearch, status, unusedSince, orderBy]);
  useEffect(() => setCursors([]), [filtersKey]);

  const variables = useMemo(
    () => ({
      filter: { region: region || null, search: debouncedSearch || null, status: status || null, unusedSince },
      orderBy,
      first: PAGE_SIZE,
      after: cursors[cursors.length - 1] ?? null,
    }),
    [region, debouncedSearch, status, unusedSince, orderBy, cursors],
  );
  const [result, reexecute] = useQuery({ query: KeysPageQuery, variables });
  const [regionsResult, reexecuteRegions] = useQuery({ query: RegionsQuery });
  const refresh = useCallback(() => {
    reexecute({ requestPolicy: 'network-only' });
    reexecuteRegions({ requestPolicy: 'network-only' });
  }, [reexecute, reexecuteRegions]);

  const { onRegionsKnown } = props;
  useEffect(() => {
    const nodes = regionsResult.data?.apiKeys.nodes;
    if (nodes) onRegionsKnown([...new Set(nodes.map((node) => node.region))].sort());
  }, [regionsResult.data, onRegionsKnown]);

  // Live: any event of the account's keys re-reads the page (coalesced), so changes made elsewhere show within a moment.
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    const stop = followKeyEvents(props.connection.ws, () => {
      if (pending.current) return;
      pending.current = setTimeout(() => {
        pending.current = null;
        refresh();
      }, 100);
    });
    return () => {
      stop();
      if (pending.current) clearTimeout(pending.current);
    };
  }, [props.connection.ws, refresh]);

  // The switch shows the server's answer: the key as the mutation returned it, until the list catches up.
  const [answers, setAnswers] = useState<Record<string, Key>>({});
  const [switchError, setSwitchError] = useState<string | null>(null);
  const [, setKeyStatus] = useMutation(SetStatusMutation);
  const toggle = async (key: Key) => {
    setSwitchError(null);
    const next = key.status === 'ENABLED' ? 'DISABLED' : 'ENABLED';
    const answer = await setKeyStatus({ id: key.id, status: next });
    if (answer.data) setAnswers((before) => ({ ...before, [key.id]: answer.data!.setKeyStatus }));
    else {
      const error = apiErrorOf(answer.error);
      if (error && error.code !== 'UNAUTHENTICATED' && error.code !== 'NETWORK') setSwitchError(t('genericError', { message: error.message }));
    }
  };

  const data = result.data;
  const nodes = (data?.apiKeys.nodes ?? []).map((node) => {
    const answer = answers[node.id];
    return answer && answer.version > node.version ? answer : node;
  });
  const quota = data?.accountQuota;
  const error = apiErrorOf(result.error);
  const filtered = Boolean(debouncedSearch || status || unusedSince || region);
  const zone = zoneLabel();
  const page = cursors.length + 1;

  return (
    <main>
      <div className="page-head">
        <h1>{t('appTitle')}</h1>
        <div className="page-actions">
          {quota && <span className="quota">{t('quota', { used: quota.used, limit: quota.limit })}</span>}
          <button type="button" onClick={refresh} aria-label={t('refresh')} title={t('refresh')}>
            ⟳ {t('refresh')}
          </button>
          <button type="button" className="primary" onClick={() => setOpen({ kind: 'create' })}>
            {t('create')}
          </button>
        </div>
      </div>

      <div className="toolbar" role="search">
        <label>
          {t('search')}
          <input type="search" value={search} onChange={(event) => setSearch(event.target.value)} maxLength={200} />
        </label>
        <label>
          {t('statusFilter')}
          <select value={status} onChange={(event) => setStatus(event.target.value as ApiKeyStatus | '')}>
            <option value="">{t('any')}</option>
            <option value="ENABLED">{t('enabled')}</option>
            <option value="DISABLED">{t('disabled')}</option>
          </select>
        </label>
        <label>
          {t('unusedFor')}
          <input type="number" min={1} max={9999} inputMode="numeric" value={unusedDays} onChange={(event) => setUnusedDays(event.target.value)} />
        </label>
        <label>
          {t('orderBy')}
          <select value={orderBy} onChange={(event) => setOrderBy(event.target.value as ApiKeyOrder)}>
            {ORDERS.map((order) => (
              <option key={order} value={order}>
                {t(`order_${order}`)}
              </option>
            ))}
          </select>
        </label>
      </div>

      {error && error.code !== 'NETWORK' && error.code !== 'UNAUTHENTICATED' && (
        <p className="error" role="alert">
          {t('genericError', { message: error.message })}
        </p>
      )}
      {switchError && (
        <p className="error" role="alert">
          {switchError}
        </p>
      )}

      {data && data.apiKeys.totalCount === 0 && !filtered ? (
        <section className="empty" aria-labelledby="empty-title">
          <h2 id="empty-title">{t('emptyTitle')}</h2>
          <p>{t('emptyText')}</p>
          <button type="button" className="primary" onClick={() => setOpen({ kind: 'create' })}>
            {t('create')}
          </button>
        </section>
      ) : (
        <div className="table-wrap">
          <table aria-busy={result.fetching}>
            <caption className="visually-hidden">{t('keysTable')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('colName')}</th>
                <th scope="col">{t('colId')}</th>
                <th scope="col">{t('colKey')}</th>
                <th scope="col">{t('colDescription')}</th>
                <th scope="col">{t('colStatus')}</th>
                <th scope="col">{t('colScope')}</th>
                <th scope="col">{t('colRegion')}</th>
                <th scope="col">{t('colCreated', { zone })}</th>
                <th scope="col">{t('colLastUsed', { zone })}</th>
                <th scope="col">{t('colExpires', { zone })}</th>
                <th scope="col">{t('colActions')}</th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((key) => (
                <tr key={key.id}>
                  <th scope="row">{key.name}</th>
                  <td className="id">
                    <code title={key.id}>{key.id}</code> <CopyButton text={key.id} label={t('copyId', { name: key.name })} />
                  </td>
                  <td>
                    <code>{key.maskedKey}</code>
                  </td>
                  <td className="description">{key.description ?? ''}</td>
                  <td>
                    <button
                      type="button"
                      role="switch"
                      className="switch"
                      aria-checked={key.status === 'ENABLED'}
                      aria-label={t('statusSwitch', { name: key.name })}
                      onClick={() => void toggle(key)}
                    >
                      <span aria-hidden="true" className="knob" />
                      <span className="switch-text">{key.status === 'ENABLED' ? t('enabled') : t('disabled')}</span>
                    </button>
                  </td>
                  <td title={[...key.scope.models, ...key.scope.services].join(', ')}>{scopeSummary(key, t)}</td>
                  <td>{key.region}</td>
                  <td className="time">{formatTime(key.createdAt)}</td>
                  <td className="time">{formatTime(key.lastUsedAt)}</td>
                  <td className="time">{key.expiresAt ? formatTime(key.expiresAt) : t('never')}</td>
                  <td>
                    <MenuButton
                      label={t('actionsFor', { name: key.name })}
                      items={[
                        { label: t('editName'), onSelect: () => setOpen({ kind: 'name', apiKey: key }) },
                        { label: t('editDetails'), onSelect: () => setOpen({ kind: 'details', apiKey: key }) },
                        { label: key.status === 'ENABLED' ? t('disable') : t('enable'), onSelect: () => void toggle(key) },
                        { label: t('rotate'), onSelect: () => setOpen({ kind: 'rotate', apiKey: key }) },
                        { label: t('expiry'), onSelect: () => setOpen({ kind: 'expiry', apiKey: key }) },
                        { label: t('history'), onSelect: () => setOpen({ kind: 'history', apiKey: key }) },
                        { label: t('usage'), onSelect: () => setOpen({ kind: 'usage', apiKey: key }) },
                        { label: t('delete'), onSelect: () => setOpen({ kind: 'delete', apiKey: key }), danger: true },
                      ]}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {data && nodes.length === 0 && <p className="empty-filtered">{t('noMatch')}</p>}
          {!data && result.fetching && <p>{t('loading')}</p>}
        </div>
      )}

      {data && data.apiKeys.totalCount > 0 && (
        <nav className="pager" aria-label={t('pageOf', { page, total: data.apiKeys.totalCount })}>
          <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
            ‹ {t('previous')}
          </button>
          <span>{t('pageOf', { page, total: data.apiKeys.totalCount })}</span>
          <button
            type="button"
            disabled={!data.apiKeys.pageInfo.hasNextPage || !data.apiKeys.pageInfo.endCursor}
            onClick={() => setCursors([...cursors, data.apiKeys.pageInfo.endCursor as string])}
          >
            {t('next')} ›
          </button>
        </nav>
      )}

      {open?.kind === 'create' && (
        <CreateDialog
          region={region}
          regions={regionsResult.data ? [...new Set(regionsResult.data.apiKeys.nodes.map((node) => node.region))] : []}
          {...(quota ? { limit: quota.limit } : {})}
          onClose={() => setOpen(null)}
          onCreated={(secret, key) => {
            setOpen({ kind: 'secret', secret, keyName: key.name });
            refresh();
          }}
        />
      )}
      {open?.kind === 'secret' && <SecretDialog secret={open.secret} keyName={open.keyName} previousValidUntil={open.previousValidUntil ?? null} onClose={() => setOpen(null)} />}
      {(open?.kind === 'name' || open?.kind === 'details') && (
        <EditDialog
          apiKey={open.apiKey}
          part={open.kind}
          onClose={() => {
            setOpen(null);
            refresh();
          }}
        />
      )}
      {open?.kind === 'rotate' && (
        <RotateDialog
          apiKey={open.apiKey}
          onClose={() => setOpen(null)}
          onRotated={(secret, key, previousValidUntil) => {
            setOpen({ kind: 'secret', secret, keyName: key.name, previousValidUntil });
            refresh();
          }}
        />
      )}
      {open?.kind === 'expiry' && (
        <ExpiryDialog
          apiKey={open.apiKey}
          onClose={() => {
            setOpen(null);
            refresh();
          }}
        />
      )}
      {open?.kind === 'history' && <HistoryDialog apiKey={open.apiKey} onClose={() => setOpen(null)} />}
      {open?.kind === 'usage' && <UsageDialog apiKey={open.apiKey} onClose={() => setOpen(null)} />}
      {open?.kind === 'delete' && (
        <DeleteDialog
          apiKey={open.apiKey}
          onClose={() => setOpen(null)}
          onDeleted={() => {
            setOpen(null);
            refresh();
          }}
        />
      )}
    </main>
  );
}
