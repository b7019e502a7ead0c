import { useState } from 'react';
import { useMutation } from 'urql';
import type { ApiError } from '../apiErrors';
import { apiErrorOf } from '../apiErrors';
import type { KeyFieldsFragment as Key } from '../gql/graphql';
import { useT } from '../i18n';
import { RotateKeyMutation } from '../operations';
import { Dialog, Field } from '../ui';
import { FormError } from './FormError';

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
