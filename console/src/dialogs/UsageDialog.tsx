import type { ReactNode } from 'react';
import { Component, Suspense, lazy, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { apiErrorOf } from '../apiErrors';
import type { KeyFieldsFragment as Key, UsageGranularity } from '../gql/graphql';
import { useT } from '../i18n';
import { UsageQuery } from '../operations';
import { formatTime, zoneLabel } from '../time';
import { Dialog } from '../ui';

// Loaded with the dialog, not the page: uPlot stays out of the main script, and if it cannot load or
// start (it formats numbers with Intl for navigator.language, which throws on tags like en-US@posix)
// the dialog still shows the numbers as text and as a table.
const UsageChart = lazy(() => import('../usage/UsageChart').then((module) => ({ default: module.UsageChart })));

class ChartBoundary extends Component<{ fallback: ReactNode; children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  override render() {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}
import { FormError } from './FormError';

type Period = 'day' | 'week';
const HOUR_MS = 3_600_000;
// The last 24 hourly buckets, or the last 7 daily ones (days from 00:00 UTC); the current one included.
const PERIODS: Record<Period, { granularity: UsageGranularity; span: number }> = {
  day: { granularity: 'HOUR', span: 23 * HOUR_MS },
  week: { granularity: 'DAY', span: 6 * 24 * HOUR_MS },
};

/** A key's use over the last day or week (apiKeyUsage): chart, totals as text, and the numbers as a table. */
export function UsageDialog(props: { apiKey: Key; onClose: () => void }) {
  const t = useT();
  const [period, setPeriod] = useState<Period>('day');
  const [asked, setAsked] = useState(() => Date.now());
  const variables = useMemo(() => {
    const { granularity, span } = PERIODS[period];
    return { id: props.apiKey.id, from: new Date(asked - span).toISOString(), to: new Date(asked + 1).toISOString(), granularity };
  }, [props.apiKey.id, period, asked]);
  const [{ data, error, fetching }] = useQuery({ query: UsageQuery, variables, requestPolicy: 'network-only' });
  const buckets = data?.apiKeyUsage ?? [];
  const points = buckets.map((bucket) => ({ at: Date.parse(bucket.start) / 1000, requests: bucket.requests, denied: bucket.denied, tokens: bucket.promptTokens + bucket.completionTokens }));
  const total = (pick: (point: (typeof points)[number]) => number) => points.reduce((sum, point) => sum + pick(point), 0);
  const summary = t('usageSummary', { period: t(`period_${period}`), requests: total((p) => p.requests), denied: total((p) => p.denied), tokens: total((p) => p.tokens) });
  const labels = useMemo(() => ({ requests: t('seriesRequests'), denied: t('seriesDenied'), tokens: t('seriesTokens') }), [t]);
  const zone = zoneLabel();
  return (
    <Dialog title={t('usageTitle', { name: props.apiKey.name })} onClose={props.onClose} wide>
      <div className="usage-head">
        <label>
          {t('usagePeriod')}{' '}
          <select value={period} onChange={(event) => setPeriod(event.target.value as Period)}>
            <option value="day">{t('period_day')}</option>
            <option value="week">{t('period_week')}</option>
          </select>
        </label>
        <button type="button" onClick={() => setAsked(Date.now())}>
          {t('refresh')}
        </button>
      </div>
      {error && <FormError error={apiErrorOf(error)} />}
      {data && (
        <figure className="usage" aria-busy={fetching}>
          <ChartBoundary fallback={<p className="hint usage-chart">{t('chartUnavailable')}</p>}>
            <Suspense fallback={<div className="usage-chart" />}>
              <UsageChart points={points} labels={labels} />
            </Suspense>
          </ChartBoundary>
          <ul className="usage-legend" aria-hidden="true">
            {(['requests', 'denied', 'tokens'] as const).map((series) => (
              <li key={series} className={`swatch-${series}`}>
                <span className="swatch" />
                {labels[series]}
              </li>
            ))}
          </ul>
          <figcaption role="status">{summary}</figcaption>
        </figure>
      )}
      {data && (
        <details className="usage-table">
          <summary>{t('usageAsTable')}</summary>
          <table>
            <caption className="visually-hidden">{t('usageTableCaption', { name: props.apiKey.name })}</caption>
            <thead>
              <tr>
                <th scope="col">{t('colBucket', { zone })}</th>
                <th scope="col">{t('seriesRequests')}</th>
                <th scope="col">{t('seriesDenied')}</th>
                <th scope="col">{t('colPromptTokens')}</th>
                <th scope="col">{t('colCompletionTokens')}</th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((bucket) => (
                <tr key={bucket.start}>
                  <th scope="row">{formatTime(bucket.start)}</th>
                  <td>{bucket.requests}</td>
                  <td>{bucket.denied}</td>
                  <td>{bucket.promptTokens}</td>
                  <td>{bucket.completionTokens}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      <div className="actions">
        <button type="button" className="primary" onClick={props.onClose}>
          {t('close')}
        </button>
      </div>
    </Dialog>
  );
}
