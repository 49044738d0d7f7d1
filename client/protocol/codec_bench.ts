import { decodeRequest, encodeRequest, encodeResponse } from "./codec.ts";
import { eventKeys } from "./event_keys.ts";

const PLAY =
  '{"kind":"ChannelPlay","key":{"kind":"channel","id":"golden-chan-a","node":"02:00:00:00:60:0d","app":"golden"},"channel_play":{"playback_id":"golden-pb-chan-1","media_uri":"sound:hello-world"}}';
const PLAY_BYTES = new TextEncoder().encode(PLAY);
const decoded = decodeRequest(PLAY);
if (!decoded.ok) throw decoded.error;
const REQUEST = decoded.request;
const EVENT = JSON.parse(
  '{"type":"ChannelEnteredBridge","timestamp":"2026-11-26T10:31:57.002+0000","bridge":{"id":"golden-bridge-a","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis","creator":"Stasis","name":"","channels":["golden-chan-a"]},"channel":{"id":"golden-chan-a","name":"Local/echo@default-00000000;1","state":"Up"},"asterisk_id":"02:00:00:00:60:0d","application":"golden"}',
);

Deno.bench("JSON.parse of a ChannelPlay request (baseline)", () => {
  JSON.parse(PLAY);
});

Deno.bench("decodeRequest() of a ChannelPlay request (text)", {
  baseline: true,
}, () => {
  decodeRequest(PLAY);
});

Deno.bench("decodeRequest() of a ChannelPlay request (bytes)", () => {
  decodeRequest(PLAY_BYTES);
});

Deno.bench("encodeRequest() of a ChannelPlay request", () => {
  encodeRequest(REQUEST);
});

Deno.bench("encodeResponse() of a key response", () => {
  encodeResponse({
    error: "",
    key: {
      kind: "playback",
      id: "golden-pb-chan-1",
      node: "02:00:00:00:60:0d",
      app: "golden",
    },
  });
});

Deno.bench("eventKeys() of a ChannelEnteredBridge event", () => {
  eventKeys(EVENT);
});
