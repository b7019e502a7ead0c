import { useState } from 'react';
import { useT } from '../i18n';
import { formatTime, zoneLabel } from '../time';
import { CopyButton, Dialog, Field } from '../ui';

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
