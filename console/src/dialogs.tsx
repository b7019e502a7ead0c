import { useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import type { ApiError } from './apiErrors';
import { apiErrorOf } from './apiErrors';
import type { KeyFieldsFragment } from './gql/graphql';
import { useT } from './i18n';
import type { Translate } from './i18n';
import type { FormField, KeyFormValues } from './keyForm';
import { KeyFormFields, allowlistInput, changedFields, emptyForm, formOf, formProblems, scopeInput, serverFieldOf, visibleErrors } from './keyForm';
import {
  CreateKeyMutation,
  DeleteKeyMutation,
  DescribeKeyMutation,
  HistoryQuery,
  KeyQuery,
  RenameKeyMutation,
  RotateKeyMutation,
  UpdateExpiryMutation,
  UpdateScopeMutation,
  VerifyHistoryQuery,
} from './operations';
import { formatTime, fromLocalInput, toLocalInput, zoneLabel } from './time';
import { CopyButton, Dialog, Field } from './ui';

type Key = KeyFieldsFragment;

export const scopeSummary = (key: Pick<Key, 'scope'>, t: Translate): string =>
  key.scope.mode === 'ALL' ? t('scopeAll') : t('scopeRange', { count: key.scope.models.length + key.scope.services.length });

/** The message for an error that has no field of its own to sit next to; null when it does (or when sign-in takes over). */
function formErrorText(error: ApiError | null, t: Translate, limit?: number): string | null {
  if (!error || serverFieldOf(error) || error.code === 'UNAUTHENTICATED' || error.code === 'CONFLICT') return null;
  if (error.code === 'NETWORK') return t('offline');
  if (error.code === 'QUOTA_EXCEEDED') return limit === undefined ? t('quotaExceededPlain') : t('quotaExceeded', { limit });
  return t('genericError', { message: error.message });
}

function FormError({ error, limit }: { error: ApiError | null; limit?: number }) {
  const t = useT();
  const text = formErrorText(error, t, limit);
  return text ? (
    <p className="error form-error" role="alert">
      {text}
    </p>
  ) : null;
}

/** CONFLICT: someone changed the key since the dialog opened. Shows the key as it is now; Reload takes it over. */
function ConflictNotice({ keyId, onReload }: { keyId: string; onReload: (fresh: Key) => void }) {
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

/** Shared state of the dialogs that edit fields: values, what was touched, the server's last error. */
function useKeyForm(initial: KeyFormValues, fields: readonly FormField[]) {
  const t = useT();
  const [values, setValues] = useState(initial);
  const [touched, setTouched] = useState<Set<FormField> | 'all'>(new Set());
  const [serverError, setServerError] = useState<ApiError | null>(null);
  const problems = formProblems(values, fields, t);
  return {
    values,
    problems,
    serverError,
    setServerError,
    errors: visibleErrors(problems, touched, serverError),
    onChange: (next: KeyFormValues) => {
      const changed = changedFields(values, next);
      setTouched((before) => (before === 'all' ? before : new Set([...before, ...changed])));
      // The server's complaint about a field goes once that field is edited.
      if (serverError && changed.includes(serverFieldOf(serverError) as FormField)) setServerError(null);
      setValues(next);
    },
    reset: (next: KeyFormValues) => {
      setValues(next);
      setServerError(null);
    },
    /** True when the form may be sent; otherwise shows every problem and focuses the first. */
    validate: (form: HTMLFormElement | null): boolean => {
      if (Object.keys(problems).length === 0) return true;
      setTouched('all');
      requestAnimationFrame(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return false;
    },
  };
}

const CREATE_FIELDS: FormField[] = ['name', 'description', 'region', 'scope', 'ipAllowlist', 'expiresAt'];

export function CreateDialog(props: { region: string; regions: string[]; limit?: number; onClose: () => void; onCreated: (secret: string, key: Key) => void }) {
  const t = useT();
  const form = useKeyForm(emptyForm(props.region), CREATE_FIELDS);
  const [accepted, setAccepted] = useState(false);
  const [{ fetching }, create] = useMutation(CreateKeyMutation);
  const submit = async (element: HTMLFormElement) => {
    if (!form.validate(element)) return;
    const { values } = form;
    const result = await create({
      input: {
        name: values.name,
        description: values.description.trim() || null,
        ...(values.region.trim() ? { region: values.region.trim() } : {}),
        scope: scopeInput(values),
        ipAllowlist: allowlistInput(values),
        expiresAt: fromLocalInput(values.expiresAt),
        acceptTerms: accepted,
      },
    });
    const payload = result.data?.createApiKey;
    if (payload) props.onCreated(payload.secret, payload.apiKey);
    else form.setServerError(apiErrorOf(result.error));
  };
  return (
    <Dialog title={t('createTitle')} onClose={props.onClose} wide>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void submit(event.currentTarget);
        }}
      >
        <KeyFormFields values={form.values} onChange={form.onChange} errors={form.errors} fields={CREATE_FIELDS} regions={props.regions} />
        <label className="inline terms">
          <input type="checkbox" checked={accepted} onChange={(event) => setAccepted(event.target.checked)} /> {t('terms')}
        </label>
        <FormError error={form.serverError} {...(props.limit === undefined ? {} : { limit: props.limit })} />
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            {t('cancel')}
          </button>
          <button type="submit" className="primary" disabled={!accepted || fetching}>
            {t('ok')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A secret, shown once: copy button, warning, and a confirmation before closing if it was never copied. */
export function SecretDialog(props: { secret: string; keyName: string; previousValidUntil?: string | null; onClose: () => void }) {
  const t = useT();
  const [copied, setCopied] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const close = () => (copied ? props.onClose() : setConfirming(true));
  return (
    <Dialog title={t('secretTitle')} onClose={close} alert>
      <p className="warning">{t('secretWarning')}</p>
      <Field label={`${t('secretLabel')} · ${props.keyName}`}>
        {({ id }) => (
          <div className="secret-row">
            <input id={id} className="secret" readOnly value={props.secret} onFocus={(event) => event.target.select()} spellCheck={false} />
            <CopyButton text={props.secret} label={t('copySecret')} visibleLabel={t('copy')} onCopied={() => setCopied(true)} />
          </div>
        )}
      </Field>
      {props.previousValidUntil && <p>{t('previousValidUntil', { time: `${formatTime(props.previousValidUntil)} (${zoneLabel()})` })}</p>}
      {confirming ? (
        <div className="confirm" role="group" aria-label={t('notCopiedTitle')}>
          <p className="warning">
            <strong>{t('notCopiedTitle')}</strong> {t('notCopiedText')}
          </p>
          <div className="actions">
            <button type="button" autoFocus onClick={() => setConfirming(false)}>
              {t('goBack')}
            </button>
            <button type="button" className="danger" onClick={props.onClose}>
              {t('closeAnyway')}
            </button>
          </div>
        </div>
      ) : (
        <div className="actions">
          <button type="button" className="primary" onClick={close}>
            {t('close')}
          </button>
        </div>
      )}
    </Dialog>
  );
}

/** Edit name (seed 000's "Edit Name"), or description / scope / allowlist (seed 002's Edit dialog). */
export function EditDialog(props: { apiKey: Key; part: 'name' | 'details'; onClose: () => void }) {
  const t = useT();
  const fields: FormField[] = props.part === 'name' ? ['name'] : ['description', 'scope', 'ipAllowlist'];
  const [base, setBase] = useState(props.apiKey);
  const form = useKeyForm(formOf(props.apiKey), fields);
  const [busy, setBusy] = useState(false);
  const [, rename] = useMutation(RenameKeyMutation);
  const [, describe] = useMutation(DescribeKeyMutation);
  const [, updateScope] = useMutation(UpdateScopeMutation);
  const submit = async (element: HTMLFormElement) => {
    if (!form.validate(element)) return;
    const { values } = form;
    const before = formOf(base);
    setBusy(true);
    // Each change names the version it was made against; a concurrent change elsewhere is a CONFLICT.
    let version = base.version;
    const steps: Array<() => Promise<{ data?: Key | undefined; error?: Parameters<typeof apiErrorOf>[0] }>> = [];
    if (props.part === 'name' && values.name !== before.name) {
      steps.push(async () => {
        const result = await rename({ id: base.id, name: values.name, expectedVersion: version });
        return { data: result.data?.renameApiKey, error: result.error };
      });
    }
    if (props.part === 'details' && values.description.trim() !== before.description) {
      steps.push(async () => {
        const result = await describe({ id: base.id, description: values.description.trim() || null, expectedVersion: version });
        return { data: result.data?.updateDescription, error: result.error };
      });
    }
    if (props.part === 'details' && (values.scopeMode !== before.scopeMode || values.models !== before.models || values.services !== before.services || values.ipAllowlist !== before.ipAllowlist)) {
      steps.push(async () => {
        const result = await updateScope({ id: base.id, scope: scopeInput(values), ipAllowlist: allowlistInput(values), expectedVersion: version });
        return { data: result.data?.updateScope, error: result.error };
      });
    }
    for (const step of steps) {
      const { data, error } = await step();
      if (!data) {
        setBusy(false);
        form.setServerError(apiErrorOf(error));
        return;
      }
      version = data.version;
    }
    setBusy(false);
    props.onClose();
  };
  const conflict = form.serverError?.code === 'CONFLICT';
  return (
    <Dialog title={props.part === 'name' ? t('renameTitle', { name: props.apiKey.name }) : t('editTitle', { name: props.apiKey.name })} onClose={props.onClose} wide={props.part === 'details'}>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void submit(event.currentTarget);
        }}
      >
        <KeyFormFields values={form.values} onChange={form.onChange} errors={form.errors} fields={fields} />
        {props.part === 'details' && <p className="hint">{t('scopePrecedence')}</p>}
        {conflict && (
          <ConflictNotice
            keyId={base.id}
            onReload={(fresh) => {
              setBase(fresh);
              form.reset(formOf(fresh));
            }}
          />
        )}
        <FormError error={form.serverError} />
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            {t('cancel')}
          </button>
          <button type="submit" className="primary" disabled={busy || conflict}>
            {t('save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

const GRACE_PERIODS = [0, 3600, 86400, 604800, 2592000] as const;

export function RotateDialog(props: { apiKey: Key; onClose: () => void; onRotated: (secret: string, key: Key, previousValidUntil: string) => void }) {
  const t = useT();
  const [grace, setGrace] = useState<number>(86400);
  const [error, setError] = useState<ApiError | null>(null);
  const [{ fetching }, rotate] = useMutation(RotateKeyMutation);
  return (
    <Dialog title={t('rotateTitle', { name: props.apiKey.name })} onClose={props.onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await rotate({ id: props.apiKey.id, gracePeriodSeconds: grace, expectedVersion: props.apiKey.version });
          const payload = result.data?.rotateApiKey;
          if (payload) props.onRotated(payload.secret, payload.apiKey, payload.previousSecretValidUntil);
          else setError(apiErrorOf(result.error));
        }}
      >
        <p>{t('rotateText')}</p>
        <Field label={t('grace')}>
          {({ id }) => (
            <select id={id} value={grace} onChange={(event) => setGrace(Number(event.target.value))}>
              {GRACE_PERIODS.map((seconds) => (
                <option key={seconds} value={seconds}>
                  {t(`grace${seconds}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        {error?.code === 'CONFLICT' && <p className="error form-error" role="alert">{t('conflict')}</p>}
        <FormError error={error} />
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            {t('cancel')}
          </button>
          <button type="submit" className="primary" disabled={fetching || error?.code === 'CONFLICT'}>
            {t('rotateConfirm')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function ExpiryDialog(props: { apiKey: Key; onClose: () => void }) {
  const t = useT();
  const form = useKeyForm({ ...formOf(props.apiKey), expiresAt: toLocalInput(props.apiKey.expiresAt) }, ['expiresAt']);
  const [{ fetching }, updateExpiry] = useMutation(UpdateExpiryMutation);
  const send = async (expiresAt: string | null) => {
    const result = await updateExpiry({ id: props.apiKey.id, expiresAt, expectedVersion: props.apiKey.version });
    if (result.data) props.onClose();
    else form.setServerError(apiErrorOf(result.error));
  };
  return (
    <Dialog title={t('expiryTitle', { name: props.apiKey.name })} onClose={props.onClose}>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          if (!form.values.expiresAt) {
            form.setServerError({ code: 'BAD_USER_INPUT', field: 'expiresAt', message: t('required') });
            return;
          }
          if (form.validate(event.currentTarget)) void send(fromLocalInput(form.values.expiresAt));
        }}
      >
        <p>{t('expiryCurrent', { value: props.apiKey.expiresAt ? `${formatTime(props.apiKey.expiresAt)} (${zoneLabel()})` : t('noExpiry') })}</p>
        <KeyFormFields values={form.values} onChange={form.onChange} errors={form.errors} fields={['expiresAt']} />
        {form.serverError?.code === 'CONFLICT' && <p className="error form-error" role="alert">{t('conflict')}</p>}
        <FormError error={form.serverError} />
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            {t('cancel')}
          </button>
          {props.apiKey.expiresAt && (
            <button type="button" disabled={fetching} onClick={() => void send(null)}>
              {t('clearExpiry')}
            </button>
          )}
          <button type="submit" className="primary" disabled={fetching}>
            {t('setExpiry')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function HistoryDialog(props: { apiKey: Key; onClose: () => void }) {
  const t = useT();
  const [{ data, error }] = useQuery({ query: HistoryQuery, variables: { id: props.apiKey.id } });
  const client = useClient();
  const [verification, setVerification] = useState<string | null>(null);
  const zone = zoneLabel();
  return (
    <Dialog title={t('historyTitle', { name: props.apiKey.name })} onClose={props.onClose} wide>
      {error && <FormError error={apiErrorOf(error)} />}
      <table className="history">
        <caption className="visually-hidden">{t('historyTable')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('colVersion')}</th>
            <th scope="col">{t('colEvent')}</th>
            <th scope="col">{t('colActor')}</th>
            <th scope="col">{t('colTime', { zone })}</th>
          </tr>
        </thead>
        <tbody>
          {data?.apiKeyHistory.map((event) => (
            <tr key={event.id}>
              <td>{event.version}</td>
              <td>{event.type}</td>
              <td>{event.actor}</td>
              <td>{formatTime(event.occurredAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p role="status" className="verification">
        {verification}
      </p>
      <div className="actions">
        <button
          type="button"
          onClick={async () => {
            const result = await client.query(VerifyHistoryQuery, { id: props.apiKey.id }).toPromise();
            const answer = result.data?.verifyHistory;
            if (!answer) setVerification(formErrorText(apiErrorOf(result.error), t));
            else if (answer.intact) setVerification(t('intact', { count: answer.eventCount }));
            else setVerification(t('broken', { version: answer.firstBrokenVersion ?? '?', problem: answer.problem ?? '' }));
          }}
        >
          {t('verifyHistory')}
        </button>
        <button type="button" className="primary" onClick={props.onClose}>
          {t('close')}
        </button>
      </div>
    </Dialog>
  );
}

export function DeleteDialog(props: { apiKey: Key; onClose: () => void; onDeleted: () => void }) {
  const t = useT();
  const [error, setError] = useState<ApiError | null>(null);
  const [{ fetching }, remove] = useMutation(DeleteKeyMutation);
  return (
    <Dialog title={t('deleteTitle', { name: props.apiKey.name })} onClose={props.onClose} alert>
      <p className="warning">{t('deleteText', { name: props.apiKey.name })}</p>
      {error?.code === 'CONFLICT' && <p className="error form-error" role="alert">{t('conflict')}</p>}
      <FormError error={error} />
      <div className="actions">
        <button type="button" autoFocus onClick={props.onClose}>
          {t('cancel')}
        </button>
        <button
          type="button"
          className="danger"
          disabled={fetching}
          onClick={async () => {
            const result = await remove({ id: props.apiKey.id, expectedVersion: props.apiKey.version });
            if (result.data) props.onDeleted();
            else setError(apiErrorOf(result.error));
          }}
        >
          {t('deleteConfirm')}
        </button>
      </div>
    </Dialog>
  );
}
