import { useState } from 'react';
import { useMutation } from 'urql';
import type { ApiError } from '../apiErrors';
import { apiErrorOf } from '../apiErrors';
import type { KeyFieldsFragment as Key } from '../gql/graphql';
import { useT } from '../i18n';
import { DeleteKeyMutation } from '../operations';
import { Dialog } from '../ui';
import { FormError } from './FormError';

export function DeleteDialog(props: { apiKey: Key; onClose: () => void; onDeleted: () => void }) {
  const t = useT();
  const [error, setError] = useState<ApiError | null>(null);
  const [{ fetching }, remove] = useMutation(DeleteKeyMutation);
  return (
    <Dialog title={t('deleteTitle', { name: props.apiKey.name })} onClose={props.onClose} alert>
      <p className="warning">{t('deleteText', { name: props.apiKey.name })}</p>
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
