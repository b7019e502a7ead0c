import { useState } from 'react';
import { useMutation } from 'urql';
import { apiErrorOf } from '../apiErrors';
import type { KeyFieldsFragment as Key } from '../gql/graphql';
import { useT } from '../i18n';
import type { FormField } from '../keyForm';
import { KeyFormFields, allowlistInput, formOf, limitsChanged, limitsInput, metadataInput, scopeInput } from '../keyForm';
import { DescribeKeyMutation, RenameKeyMutation, UpdateLimitsMutation, UpdateMetadataMutation, UpdateScopeMutation } from '../operations';
import { Dialog } from '../ui';
import { ConflictNotice, FormError } from './FormError';
import { useKeyForm } from './useKeyForm';

/** Edit name (seed 000's "Edit Name"), or description / scope / allowlist / limits / metadata (seed 002's Edit dialog). */
export function EditDialog(props: { apiKey: Key; part: 'name' | 'details'; onClose: () => void }) {
  const t = useT();
  const fields: FormField[] = props.part === 'name' ? ['name'] : ['description', 'scope', 'ipAllowlist', 'limits', 'metadata'];
  const [base, setBase] = useState(props.apiKey);
  const form = useKeyForm(formOf(props.apiKey), fields);
  const [busy, setBusy] = useState(false);
  const [, rename] = useMutation(RenameKeyMutation);
  const [, describe] = useMutation(DescribeKeyMutation);
  const [, updateScope] = useMutation(UpdateScopeMutation);
  const [, updateLimits] = useMutation(UpdateLimitsMutation);
  const [, updateMetadata] = useMutation(UpdateMetadataMutation);
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
    if (props.part === 'details' && limitsChanged(before, values)) {
      steps.push(async () => {
        const result = await updateLimits({ id: base.id, limits: limitsInput(values), expectedVersion: version });
        return { data: result.data?.updateKeyLimits, error: result.error };
      });
    }
    if (props.part === 'details' && values.metadata.trim() !== before.metadata.trim()) {
      steps.push(async () => {
        const result = await updateMetadata({ id: base.id, metadata: metadataInput(values), expectedVersion: version });
        return { data: result.data?.updateKeyMetadata, error: result.error };
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
        {!conflict && <FormError error={form.serverError} />}
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
