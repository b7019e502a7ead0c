import { useState } from 'react';
import { useClient, useQuery } from 'urql';
import { apiErrorOf } from '../apiErrors';
import type { KeyFieldsFragment as Key } from '../gql/graphql';
import { useT } from '../i18n';
import { HistoryQuery, VerifyHistoryQuery } from '../operations';
import { formatTime, zoneLabel } from '../time';
import { Dialog } from '../ui';
import { FormError, formErrorText } from './FormError';

/** A disable by a leak report says so (seed: a key found in public is switched off for its owner). */
const leakedDisable = (event: { type: string; data: unknown }): boolean => {
  const data = event.data as { status?: unknown; reason?: unknown } | null;
  return event.type === 'ApiKeyStatusChanged' && data?.status === 'DISABLED' && data.reason === 'LEAKED';
};

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
              <td>{leakedDisable(event) ? t('leakedEvent', { type: event.type }) : event.type}</td>
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
