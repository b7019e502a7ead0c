import { useState } from 'react';
import { useMutation } from 'urql';
import { apiErrorOf } from '../apiErrors';
import type { KeyFieldsFragment as Key } from '../gql/graphql';
import { useT } from '../i18n';
import type { FormField } from '../keyForm';
import { KeyFormFields, allowlistInput, emptyForm, limitsInput, metadataInput, scopeInput } from '../keyForm';
import { CreateKeyMutation } from '../operations';
import { fromLocalInput } from '../time';
import { Dialog } from '../ui';
import { FormError } from './FormError';
import { useKeyForm } from './useKeyForm';

const CREATE_FIELDS: FormField[] = ['name', 'description', 'region', 'scope', 'ipAllowlist', 'expiresAt', 'limits', 'metadata'];

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
        limits: limitsInput(values),
        metadata: metadataInput(values),
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
