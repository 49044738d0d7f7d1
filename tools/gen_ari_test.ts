import assert from "node:assert/strict";
import {
  DEFAULT_INPUT_DIR,
  DEFAULT_OUTPUT_DIR,
  generate,
  GENERATED_HEADER_PREFIX,
} from "./gen_ari.ts";
import { ARI_VERSION } from "../client/generated/models.ts";
import {
  ARI_EVENT_TYPES,
  type AriEvent,
  type AriEventMap,
  isAriEventType,
} from "../client/generated/events.ts";
import {
  ARI_OPERATIONS,
  ARI_OPERATIONS_BY_ID,
  type AriOperationParams,
  type AriOperationResult,
} from "../client/generated/operations.ts";
import type { Channel } from "../client/generated/models.ts";

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(new URL(file, DEFAULT_INPUT_DIR)));
}

interface SourceOperation {
  id: string;
  method: string;
  path: string;
  upgrade?: string;
}

/** Operations straight from the JSON files, independent of the generator. */
function sourceOperations(): SourceOperation[] {
  const out: SourceOperation[] = [];
  for (const entry of Deno.readDirSync(DEFAULT_INPUT_DIR)) {
    if (!entry.name.endsWith(".json") || entry.name === "resources.json") {
      continue;
    }
    const resource = entry.name.slice(0, -".json".length);
    const json = readJson(entry.name) as {
      apis?: {
        path: string;
        operations?: {
          nickname: string;
          httpMethod: string;
          upgrade?: string;
        }[];
      }[];
    };
    for (const api of json.apis ?? []) {
      for (const op of api.operations ?? []) {
        out.push({
          id: `${resource}.${op.nickname}`,
          method: op.httpMethod,
          path: api.path,
          ...(op.upgrade ? { upgrade: op.upgrade } : {}),
        });
      }
    }
  }
  return out;
}

/** Concrete event names: subtypes in events.json that have no subtypes. */
function sourceEventTypes(): string[] {
  const models = readJson("events.json").models as Record<
    string,
    { subTypes?: string[] }
  >;
  const subTypes = Object.values(models).flatMap((m) => m.subTypes ?? []);
  return subTypes.filter((name) => !models[name]?.subTypes?.length);
}

/** `true` when A and B are the same type (not merely assignable). */
type IsExact<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;

Deno.test({
  name: "gen_ari generated files are up to date",
  fn() {
    const files = generate(DEFAULT_INPUT_DIR);
    for (const [name, expected] of files) {
      let committed: string | undefined;
      try {
        committed = Deno.readTextFileSync(new URL(name, DEFAULT_OUTPUT_DIR));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      assert.ok(
        committed === expected,
        `client/generated/${name} is ${
          committed === undefined ? "missing" : "stale"
        }: run \`deno task gen\``,
      );
    }
    const extra = [...Deno.readDirSync(DEFAULT_OUTPUT_DIR)]
      .filter((e) => e.isFile && !files.has(e.name))
      .map((e) => e.name);
    assert.deepEqual(
      extra,
      [],
      `client/generated/ has files the generator does not write: run \`deno task gen\``,
    );
  },
});

Deno.test({
  name: "generate() is deterministic and marks every file as generated",
  fn() {
    const first = generate(DEFAULT_INPUT_DIR);
    const second = generate(DEFAULT_INPUT_DIR);
    assert.deepEqual([...first.keys()], [
      "models.ts",
      "events.ts",
      "operations.ts",
    ]);
    for (const [name, text] of first) {
      assert.equal(second.get(name), text, `${name} differs between runs`);
      assert.ok(
        text.startsWith(
          `${GENERATED_HEADER_PREFIX} from ARI ${ARI_VERSION}. DO NOT EDIT.\n`,
        ),
        `${name} lacks the generated header`,
      );
    }
  },
});

Deno.test({
  name: "ARI_VERSION matches apiVersion of resources.json",
  fn() {
    assert.equal(ARI_VERSION, readJson("resources.json").apiVersion);
  },
});

Deno.test({
  name: "ARI_OPERATIONS lists every operation of the ARI description",
  fn() {
    const source = sourceOperations();
    assert.ok(source.length > 0);
    assert.equal(ARI_OPERATIONS.length, source.length);
    for (const op of source) {
      const generated = ARI_OPERATIONS.find((g) => g.id === op.id);
      assert.ok(generated, `ARI_OPERATIONS lacks "${op.id}"`);
      assert.equal(generated.method, op.method, op.id);
      assert.equal(generated.path, op.path, op.id);
      assert.equal(generated.websocket, op.upgrade ? true : undefined, op.id);
      assert.equal(ARI_OPERATIONS_BY_ID[generated.id], generated);
    }
    assert.equal(
      ARI_OPERATIONS_BY_ID["events.eventWebsocket"].websocket,
      true,
    );
  },
});

Deno.test({
  name: "ARI_EVENT_TYPES lists every event type of events.json",
  fn() {
    const source = sourceEventTypes();
    assert.ok(source.includes("StasisStart"));
    assert.deepEqual([...ARI_EVENT_TYPES].sort(), [...source].sort());
    for (const type of source) assert.ok(isAriEventType(type), type);
    assert.equal(isAriEventType("Event"), false);
    assert.equal(isAriEventType("Message"), false);
  },
});

Deno.test("AriEventMap types StasisStart channel id as string", () => {
  const channelId: IsExact<
    AriEventMap["StasisStart"]["channel"]["id"],
    string
  > = true;
  const discriminated: IsExact<
    Extract<AriEvent, { type: "StasisStart" }>,
    AriEventMap["StasisStart"]
  > = true;
  const originate: IsExact<
    AriOperationParams["channels.originate"]["endpoint"],
    string
  > = true;
  const result: IsExact<AriOperationResult["channels.list"], Channel[]> = true;
  assert.deepEqual([channelId, discriminated, originate, result], [
    true,
    true,
    true,
    true,
  ]);
});
