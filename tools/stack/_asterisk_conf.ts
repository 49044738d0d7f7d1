/**
 * Configuration files for one unchrooted Asterisk instance, modelled on the
 * golden corpus configuration (`/work/shared/asterisk/conf-golden/`). Internal.
 *
 * @module
 */

/** Values substituted into the configuration. */
export interface AsteriskConfParams {
  /** The sid root (read-only; modules, data, sounds). */
  root: string;
  /** The instance folder (etc, run, spool, varlib, log, cache). */
  dir: string;
  /** Multiarch triple of the root's libraries, e.g. `x86_64-linux-gnu`. */
  triple: string;
  port: number;
  entityId: string;
  systemName: string;
  username: string;
  password: string;
  app: string;
  /** Extra `load =>` modules. */
  modules: string[];
  /** Extra dialplan lines appended to `[default]`. */
  dialplan: string;
}

/** Modules loaded with `autoload=no`: the golden list plus tones, MOH, Local/bridge media, a few functions. */
export const ASTERISK_MODULES: readonly string[] = [
  "res_http_websocket.so",
  "res_websocket_client.so",
  "res_stasis.so",
  "res_ari.so",
  "res_ari_model.so",
  "res_ari_applications.so",
  "res_ari_asterisk.so",
  "res_ari_bridges.so",
  "res_ari_channels.so",
  "res_ari_device_states.so",
  "res_ari_endpoints.so",
  "res_ari_events.so",
  "res_ari_playbacks.so",
  "res_ari_recordings.so",
  "res_ari_sounds.so",
  "res_stasis_answer.so",
  "res_stasis_device_state.so",
  "res_stasis_playback.so",
  "res_stasis_recording.so",
  "res_stasis_snoop.so",
  "res_sorcery_memory.so",
  "res_sorcery_config.so",
  "res_sorcery_astdb.so",
  "res_sorcery_realtime.so",
  "res_timing_timerfd.so",
  "res_musiconhold.so",
  "res_tonedetect.so",
  "app_stasis.so",
  "pbx_config.so",
  "app_echo.so",
  "app_playback.so",
  "app_playtones.so",
  "app_userevent.so",
  "chan_bridge_media.so",
  "bridge_simple.so",
  "bridge_softmix.so",
  "bridge_holding.so",
  "bridge_native_rtp.so",
  "codec_ulaw.so",
  "codec_alaw.so",
  "codec_a_mu.so",
  "codec_gsm.so",
  "codec_resample.so",
  "format_gsm.so",
  "format_wav.so",
  "format_wav_gsm.so",
  "format_pcm.so",
  "format_sln.so",
  "func_channel.so",
  "func_callerid.so",
  "func_strings.so",
  "func_logic.so",
  "func_global.so",
  "func_uuid.so",
];

/** Returns file name → content for the instance's `etc` folder. */
export function renderAsteriskConf(
  p: AsteriskConfParams,
): Record<string, string> {
  const modules = [
    ...ASTERISK_MODULES,
    ...p.modules.filter((m) => !ASTERISK_MODULES.includes(m)),
  ];
  return {
    "asterisk.conf": [
      "[directories]",
      `astcachedir => ${p.dir}/cache`,
      `astetcdir => ${p.dir}/etc`,
      `astmoddir => ${p.root}/usr/lib/${p.triple}/asterisk/modules`,
      `astvarlibdir => ${p.dir}/varlib`,
      `astdbdir => ${p.dir}/varlib`,
      `astkeydir => ${p.dir}/varlib`,
      `astdatadir => ${p.root}/usr/share/asterisk`,
      `astagidir => ${p.root}/usr/share/asterisk/agi-bin`,
      `astspooldir => ${p.dir}/spool`,
      `astrundir => ${p.dir}/run`,
      `astlogdir => ${p.dir}/log`,
      `astsbindir => ${p.root}/usr/sbin`,
      "[options]",
      `entityid => ${p.entityId}`,
      `systemname => ${p.systemName}`,
      "",
    ].join("\n"),
    "modules.conf": [
      "[modules]",
      "autoload=no",
      ...modules.map((m) => `load => ${m}`),
      "",
    ].join("\n"),
    "http.conf": [
      "[general]",
      "enabled=yes",
      "bindaddr=127.0.0.1",
      `bindport=${p.port}`,
      "",
    ].join("\n"),
    "ari.conf": [
      "[general]",
      "enabled = yes",
      "pretty = no",
      `[${p.username}]`,
      "type = user",
      "read_only = no",
      `password = ${p.password}`,
      "password_format = plain",
      "",
    ].join("\n"),
    "extensions.conf": [
      "[general]",
      "static=yes",
      "writeprotect=no",
      "[default]",
      "exten => 100,1,Answer()",
      " same => n,Wait(30)",
      " same => n,Hangup()",
      `exten => 200,1,Stasis(${p.app})`,
      " same => n,Hangup()",
      "exten => echo,1,Answer()",
      " same => n,Echo()",
      "exten => tone,1,Answer()",
      " same => n,PlayTones(440)",
      " same => n,Wait(20)",
      " same => n,Hangup()",
      p.dialplan,
      "",
    ].join("\n"),
    "logger.conf": [
      "[general]",
      "[logfiles]",
      "console => notice,warning,error",
      "messages.log => notice,warning,error,verbose",
      "",
    ].join("\n"),
    "manager.conf": "[general]\nenabled = no\n",
    "sorcery.conf": [
      "[res_pjproject]",
      "log_mappings=memory",
      "",
      "[res_pjsip]",
      "endpoint=memory",
      "aor=memory",
      "auth=memory",
      "contact=memory",
      "",
    ].join("\n"),
    "rtp.conf": "[general]\nrtpstart=31200\nrtpend=31300\n",
    "indications.conf": [
      "[general]",
      "country=us",
      "[us]",
      "description = United States / North America",
      "ringcadence = 2000,4000",
      "dial = 350+440",
      "busy = 480+620/500,0/500",
      "ring = 440+480/2000,0/4000",
      "congestion = 480+620/250,0/250",
      "callwaiting = 440/300,0/10000",
      "dialrecall = !350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
      "record = 1400/500,0/15000",
      "info = !950/330,!1400/330,!1800/330,0",
      "stutter = !350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
      "",
    ].join("\n"),
    // One class, "default", playing tt-monkeys (linked into <dir>/moh by the harness).
    "musiconhold.conf": `[default]\nmode=files\ndirectory=${p.dir}/moh\n`,
    "cli.conf": "[startup_commands]\n",
    "stasis.conf": "",
    "acl.conf": "",
    "ccss.conf": "",
    "cdr.conf": "",
    "cel.conf": "",
    "features.conf": "",
    "udptl.conf": "",
    "websocket_client.conf": "",
  };
}
