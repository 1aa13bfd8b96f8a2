// The group's signs of life and decay, computed on this device from the records (see sunspace_model::vitality):
// charts of attendance over time, new faces and who came back, and action follow-through, each with the same
// figures in plain words beside it (the model's own sentences, rotation of roles included), so nothing is only in
// a picture.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { backend } from "./backend";
import type { GroupView } from "./bindings/GroupView";
import type { Vitality } from "./bindings/Vitality";
import { Section, type Act } from "./parts";
import { attendanceSeries, followThroughBars, newFacesSeries, readableDate, readableMonth } from "./view";

const SUN = "#b86e00";
const OK = "#1f6f43";
const MUTED = "#5b6470";
const DAY = 86400;

export function VitalityPage({ view, group, act }: { view: GroupView; group: string; act: Act }) {
  const [vitality, setVitality] = useState<Vitality | null>(null);
  useEffect(() => {
    void act(() => backend.vitality(group)).then((v) => v && setVitality(v));
  }, [view]);
  if (!vitality) return <p>Reading the records…</p>;
  if (vitality.meetings_held === 0) {
    return (
      <>
        <Section title="Vitality">
          <p data-testid="vitality-summary">No meetings have been held yet. After the first one, this page shows how the group is doing.</p>
        </Section>
        <ListeningFigures vitality={vitality} />
      </>
    );
  }
  const [days, present] = attendanceSeries(vitality);
  const [faceDays, faces, returned] = newFacesSeries(vitality);
  const bars = followThroughBars(vitality);
  return (
    <>
      <Section title="Vitality">
        <p class="muted">Group-level signs of life, from your own records on this device. Nobody is ranked.</p>
        <ul class="summary" data-testid="vitality-summary">
          {vitality.summary.map((line) => (
            <li>{line}</li>
          ))}
        </ul>
      </Section>
      <ListeningFigures vitality={vitality} />
      <Section title="Attendance over time">
        <Chart
          testid="chart-attendance"
          label={`People at each meeting: ${vitality.attendance.history.map((m) => `${readableDate(m.date)}, ${m.count}`).join("; ")}.`}
          data={[days, present]}
          series={[{ label: "People present", stroke: SUN, width: 2, points: { show: true, size: 7 } }]}
        />
      </Section>
      <Section title="New faces, and who came back">
        {faces.length === 0 ? (
          <p>No new faces recorded yet. Tick "new face" when you add someone at a meeting.</p>
        ) : (
          <Chart
            testid="chart-new-faces"
            label={`New faces per meeting, and how many came back: ${vitality.new_faces.per_meeting.map((m) => `${readableDate(m.date)}, ${m.new_faces} new, ${m.came_back} came back`).join("; ")}.`}
            data={[faceDays, faces, returned]}
            series={[
              { label: "New faces", fill: SUN, stroke: SUN, paths: uPlot.paths.bars!({ size: [0.4, 40], align: -1 }), points: { show: false } },
              { label: "Came back", fill: OK, stroke: OK, paths: uPlot.paths.bars!({ size: [0.4, 40], align: 1 }), points: { show: false } },
            ]}
          />
        )}
      </Section>
      <Section title="Follow-through on action items">
        {vitality.actions.total === 0 ? (
          <p>No action items yet.</p>
        ) : (
          <Chart
            testid="chart-actions"
            label={bars.map((b) => `${b.label}: ${b.count}`).join(", ")}
            data={[bars.map((_, i) => i), bars.map((b) => b.count)]}
            series={[{ label: "Action items", fill: SUN, stroke: SUN, paths: uPlot.paths.bars!({ size: [0.6, 80] }), points: { show: false } }]}
            categories={bars.map((b) => b.label)}
          />
        )}
      </Section>
    </>
  );
}

/**
 * The listening step, counted for the group as a whole (conversations held, the base, patterns named, devices
 * verified in person), and the pattern card's "when to replant" when the service says it is time. Never who held
 * how many: there is no per-person figure to show.
 */
function ListeningFigures({ vitality }: { vitality: Vitality }) {
  const l = vitality.listening;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const share = vitality.verified_in_person_share;
  return (
    <Section title="Listening">
      {l.replant && (
        <p class="warning" role="status" data-testid="replant">
          <strong>Time to replant: a new listening round.</strong> No new pattern has been named for a long while and the
          one-on-ones have fallen off. Rather than add effort to the structure, pause and rebuild from listening: new
          one-on-ones with new people, until new patterns emerge.
        </p>
      )}
      <ul class="summary" data-testid="listening">
        <li data-testid="listening-this-month">
          One-on-ones this month: <strong>{l.conversations_this_month}</strong>
        </li>
        <li data-testid="listening-quarter">
          In the last three months: <strong>{l.conversations_last_quarter}</strong> (the same three months a year before:{" "}
          {l.conversations_quarter_a_year_before})
        </li>
        <li data-testid="listening-base">
          People in the base: <strong>{l.people_in_base}</strong>, of whom {plural(l.became_members, "became a member", "became members")}
          ; {plural(l.conversations_with_base, "one-on-one was", "one-on-ones were")} with people in the base.
        </li>
        <li data-testid="listening-patterns">
          {l.days_since_last_pattern === null ? (
            "No pattern named yet."
          ) : (
            <>
              Patterns named: <strong>{l.patterns_named}</strong>; the last one{" "}
              <strong>{l.days_since_last_pattern === 0 ? "today" : `${plural(l.days_since_last_pattern, "day", "days")} ago`}</strong>
              {l.last_pattern_named && ` (${readableDate(l.last_pattern_named)})`}.
            </>
          )}
        </li>
        <li data-testid="verified-share">
          {share === null ? "No devices to count yet." : <>Devices verified in person: <strong>{Math.round(share * 100)}%</strong> of the group's devices.</>}
        </li>
      </ul>
      <table class="counts" data-testid="listening-trend">
        <caption>One-on-ones held in each of the last {l.conversations_by_month.length} months</caption>
        <thead>
          <tr>
            <th scope="col">Month</th>
            <th scope="col">One-on-ones</th>
          </tr>
        </thead>
        <tbody>
          {l.conversations_by_month.map((m) => (
            <tr>
              <th scope="row">{readableMonth(m.month)}</th>
              <td>{m.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

/** One uPlot chart, sized to its container, redrawn when its data changes. `label` says the same in words. */
function Chart({
  testid,
  label,
  data,
  series,
  categories,
}: {
  testid: string;
  label: string;
  data: number[][];
  series: uPlot.Series[];
  categories?: string[];
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const width = Math.max(280, Math.min(box.current.clientWidth || 640, 900));
    const xAxis: uPlot.Axis = categories
      ? { stroke: MUTED, values: (_, ticks) => ticks.map((t) => categories[t] ?? ""), splits: () => categories.map((_, i) => i) }
      : { stroke: MUTED };
    const plot = new uPlot(
      {
        width,
        height: 220,
        scales: {
          x: {
            time: !categories,
            // A single meeting would otherwise stretch the axis over years: show a month around it.
            auto: false,
            range: categories ? [-0.5, categories.length - 0.5] : timeRange(data[0]),
          },
          y: { range: (_, __, max) => [0, Math.max(1, max)] },
        },
        axes: [xAxis, { stroke: MUTED, incrs: [1, 2, 5, 10, 20, 50] }],
        series: [{}, ...series],
        legend: { show: series.length > 1 },
        cursor: { show: false },
      },
      data as uPlot.AlignedData,
      box.current,
    );
    return () => plot.destroy();
  }, [JSON.stringify(data)]);
  return <div class="chart" ref={box} role="img" aria-label={label} data-testid={testid} />;
}

/** The x axis for dates: a day either side, or a month around a single meeting (instead of years of empty axis). */
function timeRange(days: number[]): [number, number] {
  const first = Math.min(...days);
  const last = Math.max(...days);
  return last - first < DAY ? [first - 15 * DAY, last + 15 * DAY] : [first - DAY, last + DAY];
}
