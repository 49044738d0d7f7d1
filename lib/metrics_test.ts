import assert from "node:assert/strict";
import {
  createProxyMetrics,
  type MetricsSnapshot,
  OUTCOME,
  outcomeOfCode,
} from "./metrics.ts";

const SNAPSHOT: MetricsSnapshot = {
  node: "n1",
  version: "1.2.3",
  ariConnected: true,
  natsConnected: false,
  ariReconnects: 2,
  natsReconnects: 1,
  inFlight: 3,
  queued: 0,
  received: 10,
  noReply: 1,
  dialogEntities: 4,
  dialogs: 2,
  dialogEvicted: 0,
  announcements: [5, 6],
  entityChanges: 0,
  pendingEventBytes: 0,
};

Deno.test("ProxyMetrics.frameType() finds the type of an unparsed frame and counts per type", () => {
  const metrics = createProxyMetrics({ applications: ["a", "b"] });
  const start = metrics.frameType('{"type":"StasisStart","x":1}');
  assert.equal(start.type, "StasisStart");
  assert.equal(metrics.frameType('{"type":"StasisStart","y":2}'), start);
  assert.equal(metrics.eventType("StasisStart"), start);
  const end = metrics.frameType('{"type":"StasisEnd"}');
  assert.notEqual(end, start);
  assert.equal(end.type, "StasisEnd");
  // "type" not first (Asterisk's ChannelVarset), but at the top level.
  assert.equal(
    metrics.frameType('{"variable":"A","value":"1","type":"ChannelVarset"}')
      .type,
    "ChannelVarset",
  );
  assert.equal(metrics.frameType('{"x":1,"type":"StasisStart"}'), start);
  // A "type" inside a nested object first: cannot tell, "other".
  assert.equal(
    metrics.frameType('{"userevent":{"type":"x"},"type":"StasisStart"}').type,
    "other",
  );
  assert.equal(metrics.frameType('{"type":"a\\"b"}').type, "other");
  assert.equal(metrics.eventType(42).type, "other");
  start.received[1]!++;
  const text = metrics.render(SNAPSHOT);
  assert.match(
    text,
    /^ari_proxy_events_received_total\{application="b",type="StasisStart"\} 1$/m,
  );
});

Deno.test('ProxyMetrics.kind() counts names that are no kind as "unknown" (bounded labels)', () => {
  const metrics = createProxyMetrics({ applications: ["a"] });
  assert.equal(metrics.kind("ChannelAnswer").kind, "ChannelAnswer");
  assert.equal(metrics.kind("Evil\nKind").kind, "unknown");
  assert.equal(metrics.kind(undefined).kind, "unknown");
});

Deno.test("ProxyMetrics.request() fills counters and the duration histogram", () => {
  const metrics = createProxyMetrics({ applications: ["a", "b"] });
  const answer = metrics.kind("ChannelAnswer");
  metrics.request(1, answer, 2, OUTCOME.ok, 0.0007);
  metrics.request(1, answer, 2, OUTCOME.ok, 0.2);
  metrics.request(0, answer, 2, OUTCOME.timeout, 11);
  const text = metrics.render(SNAPSHOT);
  const value = (series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(series + " "));
    return line === undefined ? undefined : Number(line.split(" ").pop());
  };
  assert.equal(
    value(
      'ari_proxy_requests_total{application="b",kind="ChannelAnswer",outcome="ok"}',
    ),
    2,
  );
  assert.equal(
    value(
      'ari_proxy_requests_total{application="a",kind="ChannelAnswer",outcome="timeout"}',
    ),
    1,
  );
  const bucket = (le: string) =>
    value(
      `ari_proxy_request_duration_seconds_bucket{class="command",le="${le}"}`,
    );
  assert.equal(bucket("0.0005"), 0);
  assert.equal(bucket("0.001"), 1);
  assert.equal(bucket("0.25"), 2);
  assert.equal(bucket("10"), 2);
  assert.equal(bucket("+Inf"), 3);
  assert.equal(
    value('ari_proxy_request_duration_seconds_count{class="command"}'),
    3,
  );
  assert.ok(
    Math.abs(
      value('ari_proxy_request_duration_seconds_sum{class="command"}')! -
        11.2007,
    ) < 1e-9,
  );
  assert.equal(value("ari_proxy_nats_connected"), 0);
  assert.equal(value("ari_proxy_ari_reconnects_total"), 2);
  assert.equal(value('ari_proxy_announcements_total{application="b"}'), 6);
  assert.equal(
    value('ari_proxy_build_info{version="1.2.3",node="n1",application="a"}'),
    1,
  );
});

Deno.test("ProxyMetrics.render() escapes label values", () => {
  const metrics = createProxyMetrics({ applications: ["a"] });
  const text = metrics.render({ ...SNAPSHOT, version: 'v"1\\\n' });
  assert.match(text, /version="v\\"1\\\\\\n"/);
});

Deno.test("outcomeOfCode() maps executor codes to outcomes", () => {
  assert.equal(outcomeOfCode("timeout"), OUTCOME.timeout);
  assert.equal(outcomeOfCode("ariHttp"), OUTCOME.ariError);
  assert.equal(outcomeOfCode("notFound"), OUTCOME.ariError);
  assert.equal(outcomeOfCode("invalidField"), OUTCOME.invalid);
  assert.equal(outcomeOfCode("unknownKind"), OUTCOME.notImplemented);
  assert.equal(outcomeOfCode("ariDown"), OUTCOME.ariDown);
  assert.equal(outcomeOfCode("aborted"), OUTCOME.error);
});

Deno.test("ProxyMetrics.render() shows the JetStream publisher's counters only when the stream is on", () => {
  const metrics = createProxyMetrics({ applications: ["a"] });
  assert.doesNotMatch(metrics.render(SNAPSHOT), /ari_proxy_event_stream_/);
  const text = metrics.render({
    ...SNAPSHOT,
    eventStream: {
      stream: "ARI_EVENTS",
      mode: "fallback",
      stored: 41,
      duplicates: 2,
      retried: 7,
      fallback: 5,
      fallbackEpisodes: 1,
      inFlight: 3,
      queued: 4,
    },
  });
  const line = (name: string) =>
    text.split("\n").find((l) => l.startsWith(`${name}{stream="ARI_EVENTS"} `));
  assert.equal(
    line("ari_proxy_event_stream_stored_total"),
    'ari_proxy_event_stream_stored_total{stream="ARI_EVENTS"} 41',
  );
  assert.match(line("ari_proxy_event_stream_duplicates_total") ?? "", / 2$/);
  assert.match(line("ari_proxy_event_stream_retries_total") ?? "", / 7$/);
  assert.match(
    line("ari_proxy_event_stream_fallback_events_total") ?? "",
    / 5$/,
  );
  assert.match(
    line("ari_proxy_event_stream_fallback_episodes_total") ?? "",
    / 1$/,
  );
  assert.match(line("ari_proxy_event_stream_in_flight") ?? "", / 3$/);
  assert.match(line("ari_proxy_event_stream_queued") ?? "", / 4$/);
  assert.match(line("ari_proxy_event_stream_active") ?? "", / 0$/);
  assert.match(text, /# TYPE ari_proxy_event_stream_stored_total counter/);
});
