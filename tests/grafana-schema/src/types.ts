/**
 * The types generated dashboards are checked against.
 *
 * Everything here is derived from `@grafana/schema` (Grafana's own TypeScript
 * types); the only things we add are:
 *
 *   1. `Wire<T>`: JSON can't carry TypeScript enum members, so every string
 *      enum (ThresholdsMode, FieldColorModeId, MappingType, LegendDisplayMode,
 *      GraphDrawStyle, ...) is replaced by the union of its string values
 *      (`ThresholdsMode` -> "absolute" | "percentage"). Numeric enums
 *      (VariableRefresh, VariableHide, VariableSort, DashboardCursorSync) are
 *      kept: TS already accepts a numeric literal for them if, and only if, it
 *      is one of the members' values.
 *   2. `StrictDashboard`: Grafana's `Dashboard` types a panel's `options` and
 *      `fieldConfig.defaults.custom` as `Record<string, unknown>` and its
 *      `targets` as `Array<Record<string, unknown>>`, i.e. unchecked. The
 *      strict variant ties `options` / `custom` to the panel plugin's own
 *      generated `Options` / `FieldConfig` types (deep-partial, since Grafana
 *      fills defaults for missing options) for the core panel types listed in
 *      `PanelTypes`, and types `targets` as Grafana's `DataQuery` plus the
 *      Prometheus query fields (`PrometheusQuery` below, hand-written: the
 *      package has no Prometheus query type).
 */
import type { Dashboard, DataQuery, FieldConfig, FieldConfigSource, Panel, RowPanel } from '@grafana/schema';

import type * as annolist from '@grafana/schema/dist/esm/raw/composable/annotationslist/panelcfg/x/AnnotationsListPanelCfg_types.gen';
import type * as barchart from '@grafana/schema/dist/esm/raw/composable/barchart/panelcfg/x/BarChartPanelCfg_types.gen';
import type * as bargauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as dashlist from '@grafana/schema/dist/esm/raw/composable/dashboardlist/panelcfg/x/DashboardListPanelCfg_types.gen';
import type * as gauge from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type * as heatmap from '@grafana/schema/dist/esm/raw/composable/heatmap/panelcfg/x/HeatmapPanelCfg_types.gen';
import type * as histogram from '@grafana/schema/dist/esm/raw/composable/histogram/panelcfg/x/HistogramPanelCfg_types.gen';
import type * as logs from '@grafana/schema/dist/esm/raw/composable/logs/panelcfg/x/LogsPanelCfg_types.gen';
import type * as piechart from '@grafana/schema/dist/esm/raw/composable/piechart/panelcfg/x/PieChartPanelCfg_types.gen';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as statetimeline from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as statushistory from '@grafana/schema/dist/esm/raw/composable/statushistory/panelcfg/x/StatusHistoryPanelCfg_types.gen';
import type * as table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as text from '@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type * as trend from '@grafana/schema/dist/esm/raw/composable/trend/panelcfg/x/TrendPanelCfg_types.gen';
import type * as xychart from '@grafana/schema/dist/esm/raw/composable/xychart/panelcfg/x/XYChartPanelCfg_types.gen';

/** String enums -> their string values, recursively. */
export type Wire<T> =
  T extends string ? `${T}`
  : T extends number | boolean | bigint | null | undefined ? T
  : T extends (...args: never[]) => unknown ? never
  : T extends ReadonlyArray<infer U> ? Array<Wire<U>>
  : T extends object ? { [K in keyof T]: Wire<T[K]> }
  : T;

/** Wire<T> with every property optional, recursively (plugin options / custom field config). */
export type WirePartial<T> =
  T extends string ? `${T}`
  : T extends number | boolean | bigint | null | undefined ? T
  : T extends (...args: never[]) => unknown ? never
  : T extends ReadonlyArray<infer U> ? Array<WirePartial<U>>
  : T extends object ? { [K in keyof T]?: WirePartial<T[K]> }
  : T;

/** Grafana's Dashboard as it appears in JSON. Loose on panel options/custom/targets. */
export type LooseDashboard = Wire<Dashboard>;

/**
 * Fields of Grafana's Prometheus query (public/app/plugins/datasource/prometheus
 * dataquery.cue / @grafana/prometheus PromQuery), on top of DataQuery.
 */
export interface PrometheusQuery {
  expr: string;
  instant?: boolean;
  range?: boolean;
  exemplar?: boolean;
  editorMode?: 'code' | 'builder';
  format?: 'time_series' | 'table' | 'heatmap';
  legendFormat?: string;
  intervalFactor?: number;
  interval?: string;
  step?: number;
  scope?: { matchers: string };
  adhocFilters?: Array<{ key: string; operator: string; value: string }>;
  groupByKeys?: string[];
}
export type Target = Wire<DataQuery> & PrometheusQuery;

/** Core panel plugin id -> [Options, custom FieldConfig] from the plugin's generated types. */
interface PanelTypes {
  annolist: [annolist.Options, Record<string, unknown>];
  barchart: [barchart.Options, barchart.FieldConfig];
  bargauge: [bargauge.Options, Record<string, unknown>];
  dashlist: [dashlist.Options, Record<string, unknown>];
  gauge: [gauge.Options, Record<string, unknown>];
  heatmap: [heatmap.Options, heatmap.FieldConfig];
  histogram: [histogram.Options, histogram.FieldConfig];
  logs: [logs.Options, Record<string, unknown>];
  piechart: [piechart.Options, piechart.FieldConfig];
  stat: [stat.Options, Record<string, unknown>];
  'state-timeline': [statetimeline.Options, statetimeline.FieldConfig];
  'status-history': [statushistory.Options, statushistory.FieldConfig];
  table: [table.Options, table.FieldConfig];
  text: [text.Options, Record<string, unknown>];
  timeseries: [timeseries.Options, timeseries.FieldConfig];
  trend: [trend.Options, trend.FieldConfig];
  xychart: [xychart.Options, xychart.FieldConfig];
}
export type PanelType = keyof PanelTypes;

type StrictFieldConfigSource<Custom> = {
  defaults: Wire<Omit<FieldConfig, 'custom'>> & { custom?: WirePartial<Custom> };
  overrides: Wire<FieldConfigSource['overrides']>;
};

type StrictPanelOf<T extends PanelType> = Wire<Omit<Panel, 'type' | 'options' | 'fieldConfig' | 'targets'>> & {
  type: T;
  options?: WirePartial<PanelTypes[T][0]>;
  fieldConfig?: StrictFieldConfigSource<PanelTypes[T][1]>;
  targets?: Target[];
};
export type StrictPanel = { [T in PanelType]: StrictPanelOf<T> }[PanelType];

export type StrictRowPanel = Wire<Omit<RowPanel, 'panels'>> & { panels: StrictPanel[] };

export type StrictDashboard = Wire<Omit<Dashboard, 'panels'>> & {
  panels?: Array<StrictPanel | StrictRowPanel>;
};
