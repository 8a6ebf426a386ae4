/**
 * Alarms and a dashboard for one pipeline's loader: function errors, ESM offset lag, quarantine
 * rate and event-time freshness, plus throughput and duration on the dashboard.
 *
 * The loader emits EMF metrics in namespace {@link METRICS_NAMESPACE} with dimensions
 * `service` (POWERTOOLS_SERVICE_NAME) and `pipeline`.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { LakeloaderError } from '../../lambdas/core/errors';
import { METRIC } from '../../lambdas/core/report';

export const METRICS_NAMESPACE = 'Lakeloader';
export const SERVICE_NAME = 'lakeloader';

export interface LoaderMonitoringProps {
  /** The loader function. */
  readonly fn: lambda.IFunction;
  /** The pipeline name (the `pipeline` metric dimension). */
  readonly pipelineName: string;
  /** The `service` metric dimension. @default 'lakeloader' */
  readonly serviceName?: string;
  /** Alarm when the ESM's maximum offset lag stays above this many records for 15 minutes. @default 100000 */
  readonly offsetLagThreshold?: number;
  /** Alarm when the newest loaded event is older than this for 15 minutes. @default Duration.minutes(30) */
  readonly freshnessThreshold?: Duration;
  /** Alarm when more than this percentage of records is quarantined over 15 minutes. @default 1 */
  readonly quarantineRatePercent?: number;
  /** Where alarms notify (e.g. an SNS action). @default none */
  readonly alarmAction?: cloudwatch.IAlarmAction;
  /** Name of the CloudWatch dashboard. @default generated */
  readonly dashboardName?: string;
}

/** Thrown for invalid {@link LoaderMonitoringProps}. */
export class LoaderMonitoringPropsError extends LakeloaderError {
  readonly code = 'LOADER_MONITORING_PROPS';
  constructor(message: string) {
    super(message);
  }
}

/** Alarms and a dashboard for a loader. */
export class LoaderMonitoring extends Construct {
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly offsetLagAlarm: cloudwatch.Alarm;
  readonly quarantineRateAlarm: cloudwatch.Alarm;
  readonly freshnessAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: LoaderMonitoringProps) {
    super(scope, id);
    const lagThreshold = props.offsetLagThreshold ?? 100_000;
    const freshness = props.freshnessThreshold ?? Duration.minutes(30);
    const quarantinePct = props.quarantineRatePercent ?? 1;
    if (!(lagThreshold > 0)) throw new LoaderMonitoringPropsError(`offsetLagThreshold must be > 0 records, got ${lagThreshold}`);
    if (!(quarantinePct > 0 && quarantinePct <= 100)) throw new LoaderMonitoringPropsError(`quarantineRatePercent must be in (0, 100], got ${quarantinePct}`);
    const period = Duration.minutes(5);
    const dims = { service: props.serviceName ?? SERVICE_NAME, pipeline: props.pipelineName };
    const emf = (metricName: string, statistic: string, label?: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: dims, statistic, period, ...(label ? { label } : {}) });

    const recordsIn = emf(METRIC.recordsIn, 'Sum', 'in');
    const written = emf(METRIC.recordsWritten, 'Sum', 'written');
    const quarantined = emf(METRIC.recordsQuarantined, 'Sum', 'quarantined');
    const duplicates = emf(METRIC.recordsDuplicate, 'Sum', 'duplicates');
    const eventTimeLag = emf(METRIC.eventTimeLagMs, 'Maximum', 'event-time lag (ms)');
    const offsetLag = new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'OffsetLag',
      dimensionsMap: { FunctionName: props.fn.functionName },
      statistic: 'Maximum',
      period,
      label: 'offset lag (records)',
    });
    const errors = props.fn.metricErrors({ period, statistic: 'Sum' });
    const quarantineRate = new cloudwatch.MathExpression({
      expression: '100 * q / MAX([n, 1])',
      usingMetrics: { q: quarantined, n: recordsIn },
      period,
      label: 'quarantined %',
    });

    const alarm = (aid: string, metric: cloudwatch.IMetric, threshold: number, description: string, evaluationPeriods = 3) => {
      const a = new cloudwatch.Alarm(this, aid, {
        metric,
        threshold,
        evaluationPeriods,
        datapointsToAlarm: evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${props.pipelineName}: ${description}`,
      });
      if (props.alarmAction) a.addAlarmAction(props.alarmAction);
      return a;
    };
    this.errorsAlarm = alarm('ErrorsAlarm', errors, 0, 'the loader failed (S3/Glue unreachable or a conflicting writer); the ESM retries the batch', 1);
    this.offsetLagAlarm = alarm('OffsetLagAlarm', offsetLag, lagThreshold, `the event source mapping is more than ${lagThreshold} records behind`);
    this.quarantineRateAlarm = alarm('QuarantineRateAlarm', quarantineRate, quarantinePct, `more than ${quarantinePct}% of records are quarantined; query the quarantine table`);
    this.freshnessAlarm = alarm('FreshnessAlarm', eventTimeLag, freshness.toMilliseconds(), `the newest loaded event is older than ${freshness.toHumanString()}`);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: 'Throughput (records / 5 min)', left: [recordsIn, written, quarantined, duplicates], width: 12 }),
          new cloudwatch.GraphWidget({ title: 'Offset lag (records)', left: [offsetLag], width: 12, leftAnnotations: [{ value: lagThreshold, label: 'alarm' }] }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Event-time freshness (ms)', left: [eventTimeLag], width: 8, leftAnnotations: [{ value: freshness.toMilliseconds(), label: 'alarm' }] }),
          new cloudwatch.GraphWidget({ title: 'Quarantine rate (%)', left: [quarantineRate], width: 8, leftAnnotations: [{ value: quarantinePct, label: 'alarm' }] }),
          new cloudwatch.GraphWidget({
            title: 'Errors, throttles, duration',
            left: [errors, props.fn.metricThrottles({ period, statistic: 'Sum' })],
            right: [props.fn.metricDuration({ period, statistic: 'p99' })],
            width: 8,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [this.errorsAlarm, this.offsetLagAlarm, this.quarantineRateAlarm, this.freshnessAlarm], width: 24 })],
      ],
    });
  }
}
