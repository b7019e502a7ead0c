import type { ApiError } from './apiErrors';
import { fieldMatches } from './apiErrors';
import type { KeyFieldsFragment, ScopeMode } from './gql/graphql';
import type { MessageKey, Translate } from './i18n';
import { useT } from './i18n';
import type { LimitKind } from './rules';
import { IP_ALLOWLIST_MAX, LIMIT_KINDS, badIpLines, badScopeLines, descriptionOk, limitOk, linesOf, metadataProblem, nameProblem, regionOk } from './rules';
import { fromLocalInput } from './time';
import { useQuery } from 'urql';
import { ScopeCatalogQuery } from './operations';
import { Field } from './ui';

/** What the create and edit dialogs edit, as the person typed it. */
export interface KeyFormValues {
  name: string;
  description: string;
  region: string;
  scopeMode: ScopeMode;
  models: string;
  services: string;
  ipAllowlist: string;
  expiresAt: string;
  /** Per kind, as typed; empty: no limit of that kind. */
  limits: Record<LimitKind, string>;
  /** JSON text; empty: none. */
  metadata: string;
}

/** A limit's field, named as the server's extensions.field names it (e.g. limits.tokensPerDay). */
export type LimitField = `limits.${LimitKind}`;
export type FormField = 'name' | 'description' | 'region' | 'scope' | 'models' | 'services' | 'ipAllowlist' | 'expiresAt' | 'limits' | LimitField | 'metadata';

const limitField = (kind: LimitKind): LimitField => `limits.${kind}`;
const noLimits = (): Record<LimitKind, string> => ({ requestsPerMinute: '', requestsPerDay: '', tokensPerMinute: '', tokensPerDay: '', tokensPerMonth: '' });

export const emptyForm = (region: string): KeyFormValues => ({
  name: '',
  description: '',
  region,
  scopeMode: 'ALL',
  models: '',
  services: '',
  ipAllowlist: '',
  expiresAt: '',
  limits: noLimits(),
  metadata: '',
});

export const formOf = (key: KeyFieldsFragment): KeyFormValues => ({
  name: key.name,
  description: key.description ?? '',
  region: key.region,
  scopeMode: key.scope.mode,
  models: key.scope.models.join('\n'),
  services: key.scope.services.join('\n'),
  ipAllowlist: key.ipAllowlist.join('\n'),
  expiresAt: '',
  limits: Object.fromEntries(LIMIT_KINDS.map((kind) => [kind, key.limits[kind] === null || key.limits[kind] === undefined ? '' : String(key.limits[kind])])) as Record<LimitKind, string>,
  metadata: key.metadata === null || key.metadata === undefined ? '' : JSON.stringify(key.metadata, null, 2),
});

export const scopeInput = (values: KeyFormValues) =>
  values.scopeMode === 'ALL'
    ? { mode: 'ALL' as const }
    : { mode: 'RESTRICTED' as const, models: linesOf(values.models).map((entry) => entry.value), services: linesOf(values.services).map((entry) => entry.value) };

export const allowlistInput = (values: KeyFormValues): string[] => linesOf(values.ipAllowlist).map((entry) => entry.value);

/** Every kind, null where the field is empty (no limit of that kind). */
export const limitsInput = (values: KeyFormValues): Record<LimitKind, number | null> =>
  Object.fromEntries(LIMIT_KINDS.map((kind) => [kind, values.limits[kind].trim() === '' ? null : Number(values.limits[kind].trim())])) as Record<LimitKind, number | null>;

export const metadataInput = (values: KeyFormValues): unknown => (values.metadata.trim() === '' ? null : JSON.parse(values.metadata));

export const limitsChanged = (before: KeyFormValues, after: KeyFormValues): boolean => LIMIT_KINDS.some((kind) => before.limits[kind].trim() !== after.limits[kind].trim());

const lineMessages = (lines: number[], key: MessageKey, t: Translate): string | undefined =>
  lines.length ? lines.map((line) => t(key, { line })).join(' ') : undefined;

/** Problems the console can see before asking the server, by field (the server's rules, see rules.ts). */
export function formProblems(values: KeyFormValues, fields: readonly FormField[], t: Translate): Partial<Record<FormField, string>> {
  const problems: Partial<Record<FormField, string>> = {};
  const has = (field: FormField) => fields.includes(field);
  if (has('name')) {
    const problem = nameProblem(values.name);
    if (problem) problems.name = t(problem === 'length' ? 'nameLength' : 'nameCharacters');
  }
  if (has('description') && !descriptionOk(values.description)) problems.description = t('descriptionBad');
  if (has('region') && !regionOk(values.region)) problems.region = t('regionBad');
  if (has('scope') && values.scopeMode === 'RESTRICTED') {
    const models = lineMessages(badScopeLines(values.models), 'badScopeLine', t);
    const services = lineMessages(badScopeLines(values.services), 'badScopeLine', t);
    if (models) problems.models = models;
    if (services) problems.services = services;
    if (linesOf(values.models).length + linesOf(values.services).length === 0) problems.scope = t('scopeEmpty');
  }
  if (has('ipAllowlist')) {
    const lines = linesOf(values.ipAllowlist);
    const bad = lineMessages(badIpLines(values.ipAllowlist), 'badIpLine', t);
    if (bad || lines.length > IP_ALLOWLIST_MAX) problems.ipAllowlist = [bad, lines.length > IP_ALLOWLIST_MAX ? t('tooManyIps') : null].filter(Boolean).join(' ');
  }
  if (has('expiresAt') && values.expiresAt) {
    const instant = fromLocalInput(values.expiresAt);
    if (!instant || Date.parse(instant) <= Date.now()) problems.expiresAt = t('expiryPast');
  }
  if (has('limits')) for (const kind of LIMIT_KINDS) if (!limitOk(kind, values.limits[kind])) problems[limitField(kind)] = t('limitBad');
  if (has('metadata')) {
    const problem = metadataProblem(values.metadata);
    if (problem) problems.metadata = t(problem === 'json' ? 'metadataNotJson' : 'metadataNotObject');
  }
  return problems;
}

/** The server's BAD_USER_INPUT, put next to the form field its extensions.field names. */
export function serverFieldOf(error: ApiError | null): FormField | null {
  if (!error || error.code !== 'BAD_USER_INPUT' || !error.field) return null;
  if (fieldMatches(error.field, 'scope.models')) return 'models';
  if (fieldMatches(error.field, 'scope.services')) return 'services';
  for (const kind of LIMIT_KINDS) if (fieldMatches(error.field, limitField(kind))) return limitField(kind);
  for (const field of ['name', 'description', 'region', 'scope', 'ipAllowlist', 'expiresAt', 'metadata'] as const) if (fieldMatches(error.field, field)) return field;
  return null;
}

interface FieldsProps {
  values: KeyFormValues;
  onChange: (values: KeyFormValues) => void;
  /** Problems to show now, by field. */
  errors: Partial<Record<FormField, string>>;
  fields: readonly FormField[];
  regions?: string[];
}

/** The key's fields, labelled, each with its rule and its error. */
/** The operator's catalog (scopeCatalog) as checkboxes beside a scope list: checking one adds its id as a line, unchecking removes it. */
function CatalogPicker({ legend, ids, text, onChange }: { legend: string; ids: readonly string[]; text: string; onChange: (text: string) => void }) {
  if (ids.length === 0) return null;
  const listed = new Set(linesOf(text).map((entry) => entry.value));
  const toggle = (id: string, on: boolean) => {
    const lines = linesOf(text).map((entry) => entry.value).filter((value) => value !== id);
    onChange((on ? [...lines, id] : lines).join('\n'));
  };
  return (
    <fieldset className="catalog">
      <legend>{legend}</legend>
      {ids.map((id) => (
        <label key={id} className="inline">
          <input type="checkbox" checked={listed.has(id)} onChange={(event) => toggle(id, event.target.checked)} /> {id}
        </label>
      ))}
    </fieldset>
  );
}

export function KeyFormFields({ values, onChange, errors, fields, regions = [] }: FieldsProps) {
  const t = useT();
  const [catalog] = useQuery({ query: ScopeCatalogQuery, pause: !fields.includes('scope') });
  const offered = catalog.data?.scopeCatalog ?? { models: [], services: [] };
  const set = (patch: Partial<KeyFormValues>) => onChange({ ...values, ...patch });
  const has = (field: FormField) => fields.includes(field);
  return (
    <>
      {has('name') && (
        <Field label={t('name')} hint={t('nameRules')} error={errors.name}>
          {({ id, describedBy, invalid }) => (
            <input id={id} value={values.name} aria-describedby={describedBy} aria-invalid={invalid} autoComplete="off" required maxLength={200} onChange={(event) => set({ name: event.target.value })} />
          )}
        </Field>
      )}
      {has('description') && (
        <Field label={t('description')} error={errors.description}>
          {({ id, describedBy, invalid }) => (
            <textarea id={id} rows={2} value={values.description} aria-describedby={describedBy} aria-invalid={invalid} maxLength={400} onChange={(event) => set({ description: event.target.value })} />
          )}
        </Field>
      )}
      {has('region') && (
        <Field label={t('region')} hint={t('regionHint')} error={errors.region}>
          {({ id, describedBy, invalid }) => (
            <>
              <input id={id} list={`${id}-regions`} value={values.region} aria-describedby={describedBy} aria-invalid={invalid} autoComplete="off" maxLength={64} onChange={(event) => set({ region: event.target.value })} />
              <datalist id={`${id}-regions`}>
                {regions.map((region) => (
                  <option key={region} value={region} />
                ))}
              </datalist>
            </>
          )}
        </Field>
      )}
      {has('scope') && (
        <fieldset className="scope" aria-describedby={errors.scope ? 'scope-error' : undefined}>
          <legend>{t('scope')}</legend>
          <label className="inline">
            <input type="radio" name="scope-mode" checked={values.scopeMode === 'ALL'} onChange={() => set({ scopeMode: 'ALL' })} /> {t('scopeAllOption')}
          </label>
          <label className="inline">
            <input type="radio" name="scope-mode" checked={values.scopeMode === 'RESTRICTED'} onChange={() => set({ scopeMode: 'RESTRICTED' })} /> {t('scopeRangeOption')}
          </label>
          {values.scopeMode === 'RESTRICTED' && (
            <div className="scope-lists">
              <Field label={t('scopeModels')} hint={t('scopeHint')} error={errors.models}>
                {({ id, describedBy, invalid }) => (
                  <textarea id={id} rows={3} value={values.models} aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} onChange={(event) => set({ models: event.target.value })} />
                )}
              </Field>
              <Field label={t('scopeServices')} error={errors.services}>
                {({ id, describedBy, invalid }) => (
                  <textarea id={id} rows={3} value={values.services} aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} onChange={(event) => set({ services: event.target.value })} />
                )}
              </Field>
              <CatalogPicker legend={t('catalogModels')} ids={offered.models} text={values.models} onChange={(models) => set({ models })} />
              <CatalogPicker legend={t('catalogServices')} ids={offered.services} text={values.services} onChange={(services) => set({ services })} />
            </div>
          )}
          {errors.scope && (
            <p id="scope-error" className="error" role="alert">
              {errors.scope}
            </p>
          )}
        </fieldset>
      )}
      {has('ipAllowlist') && (
        <Field label={t('allowlist')} hint={t('allowlistHint')} error={errors.ipAllowlist}>
          {({ id, describedBy, invalid }) => (
            <textarea id={id} rows={3} value={values.ipAllowlist} aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} onChange={(event) => set({ ipAllowlist: event.target.value })} />
          )}
        </Field>
      )}
      {has('expiresAt') && (
        <Field label={t('expiresAt')} error={errors.expiresAt}>
          {({ id, describedBy, invalid }) => (
            <input id={id} type="datetime-local" value={values.expiresAt} aria-describedby={describedBy} aria-invalid={invalid} onChange={(event) => set({ expiresAt: event.target.value })} />
          )}
        </Field>
      )}
      {has('limits') && (
        <fieldset className="limits">
          <legend>{t('limits')}</legend>
          <p className="hint">{t('limitsHint')}</p>
          <div className="limit-grid">
            {LIMIT_KINDS.map((kind) => (
              <Field key={kind} label={t(`limit_${kind}`)} error={errors[limitField(kind)]}>
                {({ id, describedBy, invalid }) => (
                  <input
                    id={id}
                    inputMode="numeric"
                    value={values.limits[kind]}
                    aria-describedby={describedBy}
                    aria-invalid={invalid}
                    autoComplete="off"
                    maxLength={12}
                    onChange={(event) => set({ limits: { ...values.limits, [kind]: event.target.value } })}
                  />
                )}
              </Field>
            ))}
          </div>
        </fieldset>
      )}
      {has('metadata') && (
        <Field label={t('metadata')} hint={t('metadataHint')} error={errors.metadata}>
          {({ id, describedBy, invalid }) => (
            <textarea id={id} rows={3} value={values.metadata} aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} maxLength={20000} onChange={(event) => set({ metadata: event.target.value })} />
          )}
        </Field>
      )}
    </>
  );
}

/** Which errors to show: the console's own once a field was touched (or on submit), the server's always. */
export function visibleErrors(
  problems: Partial<Record<FormField, string>>,
  touched: ReadonlySet<FormField> | 'all',
  serverError: ApiError | null,
): Partial<Record<FormField, string>> {
  const shown: Partial<Record<FormField, string>> = {};
  for (const [field, message] of Object.entries(problems) as Array<[FormField, string]>) {
    const isTouched = touched === 'all' || touched.has(field) || ((field === 'models' || field === 'services') && touched.has('scope'));
    if (isTouched) shown[field] = message;
  }
  const serverField = serverFieldOf(serverError);
  if (serverField && serverError && !shown[serverField]) shown[serverField] = serverError.message;
  return shown;
}

/** Fields whose value differs between two form states (to mark them touched as the person types). */
export function changedFields(before: KeyFormValues, after: KeyFormValues): FormField[] {
  const changed: FormField[] = [];
  if (before.name !== after.name) changed.push('name');
  if (before.description !== after.description) changed.push('description');
  if (before.region !== after.region) changed.push('region');
  if (before.scopeMode !== after.scopeMode) changed.push('scope');
  if (before.models !== after.models) changed.push('models', 'scope');
  if (before.services !== after.services) changed.push('services', 'scope');
  if (before.ipAllowlist !== after.ipAllowlist) changed.push('ipAllowlist');
  if (before.expiresAt !== after.expiresAt) changed.push('expiresAt');
  for (const kind of LIMIT_KINDS) if (before.limits[kind] !== after.limits[kind]) changed.push(limitField(kind));
  if (before.metadata !== after.metadata) changed.push('metadata');
  return changed;
}

export const scopeSummary = (key: Pick<KeyFieldsFragment, 'scope'>, t: Translate): string =>
  key.scope.mode === 'ALL' ? t('scopeAll') : t('scopeRange', { count: key.scope.models.length + key.scope.services.length });
