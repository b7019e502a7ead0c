import { useMutation } from 'urql';
import { apiErrorOf } from '../apiErrors';
import type { KeyFieldsFragment as Key } from '../gql/graphql';
import { useT } from '../i18n';
import { KeyFormFields, formOf } from '../keyForm';
import { UpdateExpiryMutation } from '../operations';
import { formatTime, fromLocalInput, toLocalInput, zoneLabel } from '../time';
import { Dialog } from '../ui';
import { FormError } from './FormError';
import { useKeyForm } from './useKeyForm';

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
