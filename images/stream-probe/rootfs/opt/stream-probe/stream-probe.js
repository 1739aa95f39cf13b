#!/usr/bin/env node
// @ts-check
/*
 * stream-probe: proves that a StreamSpace session streams video. It opens the session's web client
 * in headless Chromium with the session's basic-auth credentials, waits for the stream (Selkies over
 * WebSockets or over WebRTC), and passes only when video frames are decoded, keep advancing for
 * PROBE_SECONDS and show a picture (not a blank screen).
 *
 * Interface (used by the SessionTest Job; keep it stable):
 *
 *   Environment
 *     PROBE_URL              required; http(s) address of the session's web client
 *     PROBE_USER             basic-auth user (default "user")
 *     PROBE_PASSWORD         basic-auth password, or
 *     PROBE_PASSWORD_FILE    a file holding it (a mounted Kubernetes Secret); set at most one
 *     PROBE_SECONDS          how long frames must keep advancing (default 10)
 *     PROBE_MIN_FPS          lowest average decoded frame rate that passes (default 5)
 *     PROBE_EXPECT_WIDTH     when set (with PROBE_EXPECT_HEIGHT), the decoded resolution must match;
 *     PROBE_EXPECT_HEIGHT    the browser window is also given this size
 *     PROBE_TIMEOUT_SECONDS  deadline for reaching the page, connecting and the first frame (default 120)
 *     PROBE_MIN_COLOURS      fewest distinct colours a decoded frame must show (default 4; 0 turns the
 *                            blank-picture check off)
 *     PROBE_TREAT_AS_SECURE  "true": treat PROBE_URL's origin as a secure context although it is plain
 *                            http on another host (a probe inside the cluster network); a person's
 *                            browser needs HTTPS or localhost for Selkies' WebSockets client
 *     PROBE_SCREENSHOT       where the PNG of the streamed page is written (default /tmp/stream-probe.png)
 *     PROBE_SCREENSHOT_LOG   "true": also print that PNG on stderr, so that it outlives the pod (below)
 *     PROBE_CHROMIUM         Chromium executable (default /usr/bin/chromium)
 *
 *   Output: progress on stderr; exactly one JSON line on stdout at the end:
 *     {"verdict":"pass"|"fail","reason":null|"unreachable"|"unauthorized"|"insecure-context"|
 *      "no-connection"|"no-ice-connection"|"no-frames"|"frozen-frames"|"blank-picture"|
 *      "wrong-resolution"|"low-fps"|"bad-config"|"probe-error",
 *      "detail":"...","transport":"websockets"|"webrtc"|null,"framesDecoded":N,"fps":N,"width":N,
 *      "height":N,"colours":N|null,"roundTripTimeMs":N|null,"codec":"video/H264"|...|null,
 *      "connectMs":N|null,"verdictMs":N|null,"screenshot":"path"|null}
 *     framesDecoded and fps cover the measured window; connectMs and verdictMs count from the moment
 *     the page has loaded (null when that point was not reached); screenshot is null when no page
 *     could be shown.
 *
 *   With PROBE_SCREENSHOT_LOG=true the PNG follows on stderr, before the JSON line, as
 *     stream-probe-screenshot-begin <bytes> <sha256 hex>
 *     stream-probe-screenshot <base64, at most 4096 characters a line>   (repeated)
 *     stream-probe-screenshot-end
 *   so that `kubectl logs` of a finished pod gives it back (scripts/e2e-report.ts decodes it).
 *
 *   Exit status: 0 pass, 1 failed probe, 2 bad configuration (nothing launched).
 *
 * It finds the stream on any page: an init script wraps what a web client decodes video with. Over
 * WebSockets (Selkies' default) the page decodes H.264 with WebCodecs: every VideoDecoder it creates
 * counts its output frames, their size and, once a second, the distinct colours of a downscaled
 * copy. Over WebRTC every RTCPeerConnection is kept and the probe reads its getStats(); the colours
 * come from the <video> element the track plays in. Selkies' striped encoders (JPEG) are decoded and
 * drawn by a worker on an OffscreenCanvas, out of the page's sight: with neither of the above, the
 * probe watches the page's visible canvases and counts the new pictures of the busiest. The password
 * is never printed, never put on a command line, and not passed to Chromium's environment;
 * Playwright answers the browser's auth challenge with it, for the session's origin only.
 */
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const https = require("https");
const os = require("os");
const path = require("path");

const EXIT_PASS = 0;
const EXIT_FAIL = 1;
const EXIT_BAD_CONFIG = 2;

/** Frames that stop advancing for this long are frozen. */
const FREEZE_LIMIT_MS = 2000;
/** No new frame for this long when the window ends: keep watching until frames resume or freeze. */
const STALL_MS = 500;
const SAMPLE_INTERVAL_MS = 500;
/** Once connected, the first frame gets at least this long even if the deadline is nearer. */
const FIRST_FRAME_GRACE_MS = 5000;
/** Touched on every sample; the image's HEALTHCHECK wants it fresh. */
const HEARTBEAT_FILE = path.join(os.tmpdir(), "stream-probe.heartbeat");
/** Beyond every deadline of the configuration: a probe still running then is stuck in the browser. */
const WATCHDOG_GRACE_SECONDS = 60;
/** Where the init script keeps what it learns about the page's streams. */
const PAGE_STATE_KEY = "__streamProbe";
/** Side of the grid a frame is scaled down to before its colours are counted. */
const COLOUR_GRID = { width: 64, height: 36 };
/** Marks the screenshot's lines on stderr (PROBE_SCREENSHOT_LOG). */
const SCREENSHOT_LOG_MARK = "stream-probe-screenshot";
/** Well below the 16 KiB at which container runtimes split a log line. */
const SCREENSHOT_LOG_LINE = 4096;

/**
 * @typedef {{
 *   url: URL, user: string, password: string | undefined, seconds: number, minFps: number,
 *   expectWidth: number | undefined, expectHeight: number | undefined, timeoutSeconds: number,
 *   minColours: number, treatAsSecure: boolean, screenshot: string, screenshotLog: boolean,
 *   chromium: string
 * }} ProbeConfig
 *
 * @typedef {"unreachable"|"unauthorized"|"insecure-context"|"no-connection"|"no-ice-connection"|
 *   "no-frames"|"frozen-frames"|"blank-picture"|"wrong-resolution"|"low-fps"|"bad-config"|
 *   "probe-error"} FailureReason
 * @typedef {"websockets"|"webrtc"} Transport
 *
 * @typedef {{
 *   verdict: "pass"|"fail", reason: FailureReason | null, detail: string,
 *   transport: Transport | null, framesDecoded: number, fps: number, width: number, height: number,
 *   colours: number | null, roundTripTimeMs: number | null, codec: string | null,
 *   connectMs: number | null, verdictMs: number | null, screenshot: string | null
 * }} ProbeResult
 *
 * @typedef {{ connection: string, ice: string }} PeerState
 * @typedef {{
 *   key: string, transport: Transport, framesDecoded: number, width: number, height: number,
 *   codec: string | null, roundTripTimeMs: number | null, colours: number | null
 * }} VideoStats
 * @typedef {{ frames: number, width: number, height: number, codec: string | null, colours: number | null, colouredAt: number, at: number }} DecoderCount
 * @typedef {{ frames: number, width: number, height: number, colours: number | null, colouredAt: number, at: number }} CanvasCount
 * @typedef {{
 *   secureContext: boolean, webCodecs: boolean, openSockets: number, peers: PeerState[],
 *   video: VideoStats | null
 * }} Sample
 * @typedef {{
 *   peers: RTCPeerConnection[], sockets: WebSocket[], decoders: DecoderCount[], canvases: CanvasCount[],
 *   watchCanvases: () => void, countColours: (source: CanvasImageSource, width: number, height: number) => number
 * }} PageState
 */

class ConfigError extends Error {}

class ProbeFailure extends Error {
    /** @param {FailureReason} reason @param {string} detail */
    constructor(reason, detail) {
        super(detail);
        this.reason = reason;
    }
}

/**
 * Reads and checks the PROBE_* variables.
 * @param {NodeJS.ProcessEnv} env
 * @returns {ProbeConfig}
 */
function readConfig(env) {
    const rawUrl = env.PROBE_URL;
    if (!rawUrl) throw new ConfigError("PROBE_URL is not set: give the session's web client address, e.g. http://session.streamspace-test.svc:8080/");
    /** @type {URL} */
    let url;
    try {
        url = new URL(rawUrl);
    } catch {
        throw new ConfigError(`PROBE_URL="${rawUrl}" is not a URL: expected http://host:port/ or https://host:port/`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new ConfigError(`PROBE_URL="${rawUrl}" uses ${url.protocol.replace(":", "")}: only http and https are allowed`);
    }
    if (url.username || url.password) {
        throw new ConfigError("PROBE_URL carries credentials: remove them from the URL and set PROBE_USER and PROBE_PASSWORD_FILE instead");
    }

    const user = env.PROBE_USER === undefined ? "user" : env.PROBE_USER;
    if (user === "" || user.includes(":")) throw new ConfigError(`PROBE_USER="${user}" is not a basic-auth user name: it must be non-empty and contain no ':'`);

    if (env.PROBE_PASSWORD !== undefined && env.PROBE_PASSWORD_FILE !== undefined) {
        throw new ConfigError("PROBE_PASSWORD and PROBE_PASSWORD_FILE are both set: set only one (PROBE_PASSWORD_FILE for a mounted Secret)");
    }
    let password = env.PROBE_PASSWORD;
    if (env.PROBE_PASSWORD_FILE !== undefined) {
        try {
            password = fs.readFileSync(env.PROBE_PASSWORD_FILE, "utf8").replace(/\r?\n$/, "");
        } catch (e) {
            throw new ConfigError(`PROBE_PASSWORD_FILE="${env.PROBE_PASSWORD_FILE}" cannot be read (${/** @type {NodeJS.ErrnoException} */ (e).code ?? e}): mount the Secret there or fix the path`);
        }
    }

    const seconds = number(env, "PROBE_SECONDS", 10, { min: 1 });
    const minFps = number(env, "PROBE_MIN_FPS", 5, { min: 0 });
    const timeoutSeconds = number(env, "PROBE_TIMEOUT_SECONDS", 120, { min: 1 });
    const minColours = number(env, "PROBE_MIN_COLOURS", 4, { min: 0, integer: true });
    const expectWidth = optionalNumber(env, "PROBE_EXPECT_WIDTH", { min: 1, integer: true });
    const expectHeight = optionalNumber(env, "PROBE_EXPECT_HEIGHT", { min: 1, integer: true });
    if ((expectWidth === undefined) !== (expectHeight === undefined)) {
        throw new ConfigError(`${expectWidth === undefined ? "PROBE_EXPECT_WIDTH" : "PROBE_EXPECT_HEIGHT"} is not set: set both PROBE_EXPECT_WIDTH and PROBE_EXPECT_HEIGHT, or neither`);
    }

    const screenshot = env.PROBE_SCREENSHOT || "/tmp/stream-probe.png";
    const screenshotLog = booleanSetting(env, "PROBE_SCREENSHOT_LOG", "to print the screenshot on stderr");
    const treatAsSecure = booleanSetting(env, "PROBE_TREAT_AS_SECURE", "to treat PROBE_URL's origin as a secure context");
    const chromium = env.PROBE_CHROMIUM || "/usr/bin/chromium";
    try {
        fs.accessSync(chromium, fs.constants.X_OK);
    } catch {
        throw new ConfigError(`PROBE_CHROMIUM="${chromium}" is not an executable file: point it at Chromium`);
    }
    return { url, user, password, seconds, minFps, expectWidth, expectHeight, timeoutSeconds, minColours, treatAsSecure, screenshot, screenshotLog, chromium };
}

/**
 * A true/false variable; unset or empty is false.
 * @param {NodeJS.ProcessEnv} env @param {string} name @param {string} purpose what "true" does, for the message
 */
function booleanSetting(env, name, purpose) {
    const value = (env[name] ?? "").trim();
    if (!["", "true", "false"].includes(value)) {
        throw new ConfigError(`${name}="${env[name]}" is not true or false: set it to true ${purpose}, or leave it unset`);
    }
    return value === "true";
}

/**
 * @param {NodeJS.ProcessEnv} env @param {string} name @param {number} fallback
 * @param {{ min: number, integer?: boolean }} rule
 */
function number(env, name, fallback, rule) {
    const value = optionalNumber(env, name, rule);
    return value === undefined ? fallback : value;
}

/**
 * @param {NodeJS.ProcessEnv} env @param {string} name
 * @param {{ min: number, integer?: boolean }} rule
 * @returns {number | undefined}
 */
function optionalNumber(env, name, rule) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return undefined;
    const value = Number(raw);
    const kind = rule.integer ? "a whole number" : "a number";
    if (!Number.isFinite(value) || (rule.integer && !Number.isInteger(value))) {
        throw new ConfigError(`${name}="${raw}" is not ${kind}: expected ${kind} >= ${rule.min}`);
    }
    if (value < rule.min) throw new ConfigError(`${name}=${raw} is too small: expected ${kind} >= ${rule.min}`);
    return value;
}

/** @param {string} message */
function progress(message) {
    process.stderr.write(`stream-probe: ${message}\n`);
}

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Requests the page once from Node, so that an unreachable server or a 401 is named as such before a
 * browser starts. Retries refused connections until the deadline: the session may still be starting.
 * @param {ProbeConfig} config @param {number} deadline epoch ms
 */
async function checkReachable(config, deadline) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (config.password !== undefined) headers.Authorization = `Basic ${Buffer.from(`${config.user}:${config.password}`).toString("base64")}`;
    let lastError = "";
    for (let attempt = 1; ; attempt++) {
        const remaining = deadline - Date.now();
        try {
            const status = await httpStatus(config.url, headers, Math.max(1000, Math.min(remaining, 10000)));
            if (status === 401) {
                throw new ProbeFailure(
                    "unauthorized",
                    config.password === undefined
                        ? `${config.url.origin} answered 401: it requires basic auth; set PROBE_PASSWORD_FILE`
                        : `${config.url.origin} answered 401 to user '${config.user}': the credentials are wrong`,
                );
            }
            if (status >= 400) throw new ProbeFailure("unreachable", `${config.url.href} answered HTTP ${status}`);
            return;
        } catch (e) {
            if (e instanceof ProbeFailure) throw e;
            lastError = /** @type {Error} */ (e).message;
        }
        if (Date.now() + 1000 >= deadline) {
            throw new ProbeFailure("unreachable", `${config.url.href} could not be reached within ${config.timeoutSeconds} s (${attempt} attempts): ${lastError}`);
        }
        if (attempt === 1) progress(`${config.url.origin} not reachable yet (${lastError}); retrying until the deadline`);
        await sleep(1000);
    }
}

/**
 * @param {URL} url @param {Record<string, string>} headers @param {number} timeoutMs
 * @returns {Promise<number>}
 */
function httpStatus(url, headers, timeoutMs) {
    return new Promise((resolve, reject) => {
        const client = url.protocol === "https:" ? https : http;
        const req = client.get(url, { headers, timeout: timeoutMs }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", (e) => reject(new Error(/** @type {NodeJS.ErrnoException} */ (e).code || e.message)));
    });
}

/**
 * Runs in the page before its own scripts: keeps every RTCPeerConnection and WebSocket it creates,
 * counts what every VideoDecoder it creates puts out (WebCodecs, Selkies' WebSockets client), and
 * can watch the pictures its canvases show (Selkies' striped encoders, below).
 * @param {string} key
 * @param {{ width: number, height: number }} grid
 */
function instrumentPage(key, grid) {
    /** The grid a shown canvas is copied to, to tell its pictures apart. */
    const WATCH_GRID = { width: 160, height: 90 };
    /** The largest visible canvases watched on each animation frame. */
    const WATCH_MAX_CANVASES = 4;
    /** @type {PageState} */
    const state = {
        peers: [],
        sockets: [],
        decoders: [],
        canvases: [],
        watchCanvases: () => undefined,
        countColours(source, width, height) {
            if (!width || !height) return 0;
            const canvas = new OffscreenCanvas(grid.width, grid.height);
            const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext("2d", { willReadFrequently: true }));
            ctx.drawImage(source, 0, 0, grid.width, grid.height);
            const pixels = ctx.getImageData(0, 0, grid.width, grid.height).data;
            const seen = new Set();
            // 4 bits a channel: encoder noise on a flat screen does not count as colours.
            for (let i = 0; i < pixels.length; i += 4) seen.add(((pixels[i] >> 4) << 8) | ((pixels[i + 1] >> 4) << 4) | (pixels[i + 2] >> 4));
            return seen.size;
        },
    };
    Object.defineProperty(window, key, { value: state });

    const OriginalPeer = window.RTCPeerConnection;
    if (OriginalPeer) {
        class KeptPeerConnection extends OriginalPeer {
            /** @param {RTCConfiguration} [configuration] */
            constructor(configuration) {
                super(configuration);
                state.peers.push(this);
            }
        }
        window.RTCPeerConnection = KeptPeerConnection;
        // Older clients reach for the prefixed name.
        Object.defineProperty(window, "webkitRTCPeerConnection", { value: KeptPeerConnection, configurable: true, writable: true });
    }

    const OriginalSocket = window.WebSocket;
    class KeptWebSocket extends OriginalSocket {
        /** @param {string | URL} url @param {string | string[]} [protocols] */
        constructor(url, protocols) {
            super(url, protocols);
            state.sockets.push(this);
        }
    }
    window.WebSocket = KeptWebSocket;

    // A stream drawn on a canvas by code the page cannot see: Selkies' JPEG and striped H.264
    // encoders send stripes that a worker decodes and composites on an OffscreenCanvas, shown
    // through the page's <canvas>. Once started (samplePage), every animation frame copies each
    // visible canvas (the largest few) to a small grid; each change of a canvas's picture is a
    // frame it showed. The stream is the busiest: a page may show other canvases, still or not.
    const watchGrid = new OffscreenCanvas(WATCH_GRID.width, WATCH_GRID.height);
    const gridCtx = /** @type {OffscreenCanvasRenderingContext2D} */ (watchGrid.getContext("2d", { willReadFrequently: true }));
    /** @type {Map<HTMLCanvasElement, { count: CanvasCount, picture: number | null }>} */
    const watched = new Map();
    /** @param {HTMLCanvasElement} canvas */
    const watchOne = (canvas) => {
        let entry = watched.get(canvas);
        if (!entry) {
            entry = { count: { frames: 0, width: 0, height: 0, colours: null, colouredAt: -Infinity, at: 0 }, picture: null };
            watched.set(canvas, entry);
            state.canvases.push(entry.count);
        }
        const count = entry.count;
        try {
            gridCtx.clearRect(0, 0, WATCH_GRID.width, WATCH_GRID.height);
            gridCtx.drawImage(canvas, 0, 0, WATCH_GRID.width, WATCH_GRID.height);
            const pixels = gridCtx.getImageData(0, 0, WATCH_GRID.width, WATCH_GRID.height).data;
            // FNV-1a over the grid's pixels.
            let hash = 0x811c9dc5;
            for (let i = 0; i < pixels.length; i++) hash = Math.imul(hash ^ pixels[i], 0x01000193);
            if (entry.picture !== null && hash !== entry.picture) {
                count.frames += 1;
                count.at = performance.now();
            }
            entry.picture = hash;
            count.width = canvas.width;
            count.height = canvas.height;
            if (performance.now() - count.colouredAt >= 1000) {
                count.colouredAt = performance.now();
                count.colours = state.countColours(canvas, canvas.width, canvas.height);
            }
        } catch {
            count.colours = null;
        }
    };
    const watch = () => {
        const visible = Array.from(document.querySelectorAll("canvas"))
            .filter((c) => c.width > 0 && c.height > 0 && c.getClientRects().length > 0)
            .sort((x, y) => y.width * y.height - x.width * x.height)
            .slice(0, WATCH_MAX_CANVASES);
        for (const canvas of visible) watchOne(canvas);
        requestAnimationFrame(watch);
    };
    let watching = false;
    state.watchCanvases = () => {
        if (watching) return;
        watching = true;
        requestAnimationFrame(watch);
    };

    const OriginalDecoder = window.VideoDecoder;
    if (OriginalDecoder) {
        class CountingVideoDecoder extends OriginalDecoder {
            /** @param {VideoDecoderInit} init */
            constructor(init) {
                const output = init.output;
                /** @type {DecoderCount} */
                const decoded = { frames: 0, width: 0, height: 0, codec: null, colours: null, colouredAt: 0, at: 0 };
                super({
                    ...init,
                    output: (frame) => {
                        decoded.frames += 1;
                        decoded.at = performance.now();
                        decoded.width = frame.displayWidth;
                        decoded.height = frame.displayHeight;
                        // Before the client's own output, which may close the frame.
                        if (performance.now() - decoded.colouredAt >= 1000) {
                            decoded.colouredAt = performance.now();
                            try {
                                decoded.colours = state.countColours(frame, frame.displayWidth, frame.displayHeight);
                            } catch {
                                decoded.colours = null;
                            }
                        }
                        output(frame);
                    },
                });
                this.counted = decoded;
                state.decoders.push(decoded);
            }
            /** @param {VideoDecoderConfig} config */
            configure(config) {
                this.counted.codec = config.codec;
                return super.configure(config);
            }
        }
        window.VideoDecoder = CountingVideoDecoder;
    }
}

/**
 * WebCodecs codec strings ("avc1.42E01F", "vp8") as the MIME types WebRTC's statistics use.
 * @param {string | null} codec
 */
function mimeTypeOf(codec) {
    if (!codec) return null;
    const family = codec.split(".")[0].toLowerCase();
    /** @type {Record<string, string>} */
    const known = { avc1: "video/H264", avc3: "video/H264", vp8: "video/VP8", vp09: "video/VP9", av01: "video/AV1", hvc1: "video/H265", hev1: "video/H265" };
    return known[family] ?? `video/${codec}`;
}

/**
 * Runs in the page: starts paused streams (a web client may wait for a click to play) and reads what
 * the init script learnt. Decoded WebCodecs frames win (the WebSockets transport); else the busiest
 * inbound WebRTC video of the kept peer connections.
 * @param {string} key
 * @returns {Promise<Sample>}
 */
async function samplePage(key) {
    for (const video of Array.from(document.querySelectorAll("video"))) {
        if (video.srcObject && video.paused) video.play().catch(() => undefined);
    }
    for (const button of Array.from(document.querySelectorAll("button"))) {
        // Selkies' web client shows a "start" button when autoplay was refused.
        if (button.textContent && button.textContent.trim().toLowerCase() === "start" && button.offsetParent !== null) button.click();
    }
    /** @type {PageState | undefined} */
    const state = /** @type {any} */ (window)[key];
    /** @type {Sample} */
    const sample = {
        secureContext: window.isSecureContext,
        webCodecs: typeof window.VideoDecoder === "function",
        openSockets: state ? state.sockets.filter((s) => s.readyState === WebSocket.OPEN).length : 0,
        peers: [],
        video: null,
    };
    if (!state) return sample;
    for (let i = 0; i < state.peers.length; i++) {
        const pc = state.peers[i];
        sample.peers.push({ connection: pc.connectionState, ice: pc.iceConnectionState });
        if (pc.connectionState === "closed") continue;
        /** @type {RTCStatsReport} */
        let report;
        try {
            report = await pc.getStats();
        } catch {
            continue;
        }
        /** @type {number | null} */
        let roundTripTimeMs = null;
        report.forEach((s) => {
            if (s.type === "transport" && s.selectedCandidatePairId) {
                const pair = report.get(s.selectedCandidatePairId);
                if (pair && typeof pair.currentRoundTripTime === "number") roundTripTimeMs = pair.currentRoundTripTime * 1000;
            }
        });
        if (roundTripTimeMs === null) {
            report.forEach((s) => {
                if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && typeof s.currentRoundTripTime === "number") {
                    roundTripTimeMs = s.currentRoundTripTime * 1000;
                }
            });
        }
        report.forEach((s) => {
            if (s.type !== "inbound-rtp" || (s.kind || s.mediaType) !== "video") return;
            const codec = s.codecId ? report.get(s.codecId) : undefined;
            /** @type {VideoStats} */
            const video = {
                key: `${i}/${s.id}`,
                transport: "webrtc",
                framesDecoded: s.framesDecoded || 0,
                width: s.frameWidth || 0,
                height: s.frameHeight || 0,
                codec: codec && codec.mimeType ? codec.mimeType : null,
                roundTripTimeMs,
                colours: null,
            };
            if (!sample.video || video.framesDecoded > sample.video.framesDecoded) sample.video = video;
        });
    }
    // The WebSockets stream: the busiest decoder, once past the single frames a client decodes to
    // test what the browser supports. A WebRTC stream with frames wins.
    /** The index of the count with the most frames, at least `least` of them; -1 when none has. @param {{ frames: number }[]} counts @param {number} least */
    const busiestOf = (counts, least) => counts.reduce((best, c, i) => (c.frames >= least && (best < 0 || c.frames > counts[best].frames) ? i : best), -1);
    const busiest = busiestOf(state.decoders, 2);
    // The canvas that showed the most frames.
    const busiestCanvas = busiestOf(state.canvases, 1);
    const shown = busiestCanvas >= 0 ? state.canvases[busiestCanvas] : undefined;
    if (!(sample.video && sample.video.framesDecoded > 0)) {
        // Neither: watch the canvases for a stream that the page's code never decodes itself.
        if (busiest < 0) state.watchCanvases();
        // A decoder still putting out frames wins; else the shown canvas, if it changed since (a
        // client that switches encoders leaves its old decoder behind).
        const decoderLive = busiest >= 0 && performance.now() - state.decoders[busiest].at < 1000;
        if (!decoderLive && shown && (busiest < 0 || shown.at > state.decoders[busiest].at)) {
            sample.video = { key: `canvas/${busiestCanvas}`, transport: "websockets", framesDecoded: shown.frames, width: shown.width, height: shown.height, codec: null, roundTripTimeMs: null, colours: shown.colours };
            return sample;
        }
        if (busiest >= 0) {
            const d = state.decoders[busiest];
            sample.video = { key: `decoder/${busiest}`, transport: "websockets", framesDecoded: d.frames, width: d.width, height: d.height, codec: d.codec, roundTripTimeMs: null, colours: d.colours };
            return sample;
        }
    }
    if (sample.video && sample.video.framesDecoded > 0) {
        // The colours of the picture the <video> element shows (the track the busiest stream plays in).
        const playing = Array.from(document.querySelectorAll("video")).find((v) => v.srcObject && v.videoWidth > 0);
        if (playing) {
            try {
                sample.video.colours = state.countColours(playing, playing.videoWidth, playing.videoHeight);
            } catch {
                sample.video.colours = null;
            }
        }
    }
    return sample;
}

/**
 * One sample of the page. Each also touches the heartbeat file that the image's HEALTHCHECK reads, so
 * a probe whose browser hangs shows as unhealthy under Docker or Podman.
 * @param {import("playwright-core").Page} page
 * @returns {Promise<Sample>}
 */
async function sampleOnce(page) {
    const now = new Date();
    try {
        fs.utimesSync(HEARTBEAT_FILE, now, now);
    } catch {
        fs.writeFileSync(HEARTBEAT_FILE, "");
    }
    const sample = await page.evaluate(samplePage, PAGE_STATE_KEY);
    if (sample.video) sample.video.codec = sample.video.transport === "websockets" ? mimeTypeOf(sample.video.codec) : sample.video.codec;
    return sample;
}

/** @param {PeerState} p */
const isConnected = (p) => p.connection === "connected" || p.ice === "connected" || p.ice === "completed";
/** @param {PeerState} p */
const hasFailed = (p) => p.connection === "failed" || p.connection === "closed" || p.ice === "failed";

/** @param {ProbeConfig} config @returns {Promise<ProbeResult>} */
async function probe(config) {
    const startedAt = Date.now();
    const deadline = startedAt + config.timeoutSeconds * 1000;
    // Filled in as the probe gets further; the reason is set by whichever step ends it.
    const result = failure({ reason: null });

    progress(`checking ${config.url.href}`);
    await checkReachable(config, deadline);

    const { chromium } = require("playwright-core");
    const browserEnv = { ...process.env };
    delete browserEnv.PROBE_PASSWORD;
    const viewport = { width: config.expectWidth || 1280, height: config.expectHeight || 720 };
    progress(`launching ${config.chromium}`);
    const browser = await chromium.launch({
        executablePath: config.chromium,
        headless: true,
        env: browserEnv,
        args: [
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Web clients start the stream with video.play(); without a user there is no gesture.
            "--autoplay-policy=no-user-gesture-required",
            // Offer real host addresses instead of mDNS names, which a session server cannot resolve.
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            // Selkies' WebSockets client needs a secure context; only this origin, only when asked.
            ...(config.treatAsSecure ? [`--unsafely-treat-insecure-origin-as-secure=${config.url.origin}`] : []),
        ],
    });
    /** @type {import("playwright-core").Page | undefined} */
    let page;
    /** @type {number | undefined} */
    let loadedAt;
    try {
        const context = await browser.newContext({
            viewport,
            httpCredentials: config.password === undefined ? undefined : { username: config.user, password: config.password, origin: config.url.origin },
        });
        await context.addInitScript(`(${instrumentPage})(${JSON.stringify(PAGE_STATE_KEY)}, ${JSON.stringify(COLOUR_GRID)});`);
        page = await context.newPage();
        const current = page;
        try {
            await measure(config, current, deadline, result, (at) => (loadedAt = at));
            result.verdict = "pass";
        } catch (e) {
            if (!(e instanceof ProbeFailure)) throw e;
            result.reason = e.reason;
            result.detail = e.message;
        }
        if (loadedAt !== undefined) result.verdictMs = Date.now() - loadedAt;
        result.screenshot = await screenshot(current, config.screenshot);
        if (result.screenshot && config.screenshotLog) logScreenshot(result.screenshot);
    } finally {
        await browser.close().catch(() => undefined);
    }
    return result;
}

/**
 * Why no stream came before the deadline, from the last sample of the page.
 * @param {Sample} sample @param {ProbeConfig} config
 */
function notConnected(sample, config) {
    if (sample.peers.length > 0) {
        return new ProbeFailure("no-ice-connection", `no ICE connection within ${config.timeoutSeconds} s (states: ${sample.peers.map((p) => `${p.connection}/${p.ice}`).join(", ")})`);
    }
    if (!sample.secureContext) {
        return new ProbeFailure(
            "insecure-context",
            `${config.url.origin} is not a secure context, and no stream started within ${config.timeoutSeconds} s: Selkies' WebSockets client runs only over HTTPS or from localhost (use https://, a port-forward to localhost, SELKIES_MODE=webrtc, or PROBE_TREAT_AS_SECURE=true for a probe on the cluster network)`,
        );
    }
    if (sample.openSockets > 0) {
        return new ProbeFailure("no-frames", `a WebSocket is open but no video frame was decoded within ${config.timeoutSeconds} s${sample.webCodecs ? "" : " (this browser has no WebCodecs VideoDecoder)"}`);
    }
    return new ProbeFailure("no-connection", `the page opened no stream within ${config.timeoutSeconds} s: no WebSocket stayed open and no RTCPeerConnection was created`);
}

/**
 * Loads the page, waits for the connection and the first frame, then watches the frames advance.
 * Fills `result` as it learns; throws ProbeFailure with the reason on failure.
 * @param {ProbeConfig} config @param {import("playwright-core").Page} page @param {number} deadline
 * @param {ProbeResult} result @param {(at: number) => void} onLoaded
 */
async function measure(config, page, deadline, result, onLoaded) {
    progress(`opening ${config.url.href}${config.password === undefined ? "" : ` as '${config.user}'`}`);
    let response;
    try {
        response = await page.goto(config.url.href, { waitUntil: "domcontentloaded", timeout: Math.max(1000, deadline - Date.now()) });
    } catch (e) {
        throw new ProbeFailure("unreachable", `the browser could not load ${config.url.href}: ${/** @type {Error} */ (e).message.split("\n")[0]}`);
    }
    const loadedAt = Date.now();
    onLoaded(loadedAt);
    const status = response ? response.status() : 0;
    if (status === 401) throw new ProbeFailure("unauthorized", `the browser got 401 from ${config.url.origin} as user '${config.user}'`);
    if (status >= 400) throw new ProbeFailure("unreachable", `the browser got HTTP ${status} from ${config.url.href}`);

    /** @param {Sample} sample */
    const record = (sample) => {
        if (!sample.video) return;
        result.transport = sample.video.transport;
        result.width = sample.video.width;
        result.height = sample.video.height;
        result.codec = sample.video.codec;
        if (sample.video.colours !== null) result.colours = sample.video.colours;
        if (sample.video.roundTripTimeMs !== null) result.roundTripTimeMs = Math.round(sample.video.roundTripTimeMs * 10) / 10;
    };
    /** @param {Sample} sample */
    const decoding = (sample) => sample.video !== null && sample.video.framesDecoded > 0;

    // 1. The connection: an ICE connection (WebRTC), or decoded frames from the WebSocket stream.
    /** @type {Sample} */
    let sample;
    for (;;) {
        sample = await sampleOnce(page);
        if (sample.peers.some(isConnected) || decoding(sample)) break;
        if (sample.peers.length > 0 && sample.peers.every(hasFailed)) {
            throw new ProbeFailure("no-ice-connection", `ICE failed on all ${sample.peers.length} peer connection(s) the page created: no network path to the session (TURN?)`);
        }
        if (Date.now() >= deadline) throw notConnected(sample, config);
        await sleep(SAMPLE_INTERVAL_MS);
    }
    result.connectMs = Date.now() - loadedAt;
    result.transport = sample.video && sample.video.framesDecoded > 0 ? sample.video.transport : "webrtc";
    progress(`connected over ${result.transport === "websockets" ? "WebSockets" : "WebRTC"} after ${result.connectMs} ms`);

    // 2. The first decoded frame.
    const firstFrameDeadline = Math.max(deadline, Date.now() + FIRST_FRAME_GRACE_MS);
    while (!sample.video || sample.video.framesDecoded === 0) {
        if (Date.now() >= firstFrameDeadline) {
            record(sample);
            throw new ProbeFailure(
                "no-frames",
                sample.video ? `connected, but no video frame was decoded within ${Math.round((firstFrameDeadline - loadedAt) / 1000)} s of loading` : "connected, but the session sends no video track",
            );
        }
        await sleep(SAMPLE_INTERVAL_MS);
        sample = await sampleOnce(page);
    }
    record(sample);
    progress(`first frame: ${sample.video.width}x${sample.video.height} ${sample.video.codec ?? "unknown codec"}`);

    // 3. Frames keep advancing for PROBE_SECONDS.
    const windowMs = config.seconds * 1000;
    const windowStart = Date.now();
    let counted = 0;
    let base = sample.video;
    let lastAdvanceAt = windowStart;
    let lastReportAt = windowStart;
    // A stream that stalls near the end is watched on until it resumes or counts as frozen.
    while (Date.now() - windowStart < windowMs || Date.now() - lastAdvanceAt >= STALL_MS) {
        await sleep(Math.max(50, Math.min(SAMPLE_INTERVAL_MS, windowMs - (Date.now() - windowStart))));
        sample = await sampleOnce(page);
        const now = Date.now();
        const video = sample.video;
        if (video && video.key === base.key && video.framesDecoded >= base.framesDecoded) {
            if (video.framesDecoded > base.framesDecoded) lastAdvanceAt = now;
            counted += video.framesDecoded - base.framesDecoded;
        } else if (video) {
            // The client reconnected: count the new stream from here.
            progress("the video stream was replaced; counting the new one");
            lastAdvanceAt = now;
        }
        if (video) base = video;
        record(sample);
        result.framesDecoded = counted;
        result.fps = Math.round((counted / ((now - windowStart) / 1000)) * 10) / 10;
        if (now - lastAdvanceAt >= FREEZE_LIMIT_MS) {
            throw new ProbeFailure("frozen-frames", `frames stopped advancing for ${Math.round((now - lastAdvanceAt) / 100) / 10} s after ${counted} frames in the window`);
        }
        if (now - lastReportAt >= 1000) {
            lastReportAt = now;
            progress(`frames ${counted}, ${result.fps} fps, ${result.width}x${result.height}`);
        }
    }
    const measuredSeconds = Math.round((Date.now() - windowStart) / 100) / 10;
    if (config.minColours > 0 && result.colours !== null && result.colours < config.minColours) {
        throw new ProbeFailure("blank-picture", `the decoded picture shows ${result.colours} colour(s), fewer than PROBE_MIN_COLOURS=${config.minColours}: a blank or one-colour screen`);
    }
    if (config.minColours > 0 && result.colours === null) progress("the decoded picture could not be read back; its colours were not counted");
    if (config.expectWidth !== undefined && (result.width !== config.expectWidth || result.height !== config.expectHeight)) {
        throw new ProbeFailure("wrong-resolution", `decoded ${result.width}x${result.height}, expected ${config.expectWidth}x${config.expectHeight}`);
    }
    if (result.fps < config.minFps) throw new ProbeFailure("low-fps", `${result.fps} fps over ${measuredSeconds} s, below PROBE_MIN_FPS=${config.minFps}`);
    const what = base.key.startsWith("canvas/") ? "frames shown on the page's canvas" : "frames decoded";
    result.detail = `${counted} ${what} in ${measuredSeconds} s at ${result.fps} fps, ${result.width}x${result.height}${result.codec ? ` ${result.codec}` : ""} over ${result.transport}${result.colours === null ? "" : `, ${result.colours} colours`}`;
}

/**
 * @param {import("playwright-core").Page} page @param {string} file
 * @returns {Promise<string | null>}
 */
async function screenshot(page, file) {
    try {
        await page.screenshot({ path: file, timeout: 10000 });
        return file;
    } catch (e) {
        progress(`no screenshot: ${/** @type {Error} */ (e).message.split("\n")[0]}`);
        return null;
    }
}

/**
 * Prints the PNG on stderr between marker lines (see the interface above): a finished pod keeps
 * its log, not its files.
 * @param {string} file
 */
function logScreenshot(file) {
    /** @type {Buffer} */
    let png;
    try {
        png = fs.readFileSync(file);
    } catch (e) {
        progress(`screenshot not printed: ${/** @type {Error} */ (e).message}`);
        return;
    }
    const base64 = png.toString("base64");
    const lines = [`${SCREENSHOT_LOG_MARK}-begin ${png.length} ${crypto.createHash("sha256").update(png).digest("hex")}`];
    for (let at = 0; at < base64.length; at += SCREENSHOT_LOG_LINE) lines.push(`${SCREENSHOT_LOG_MARK} ${base64.slice(at, at + SCREENSHOT_LOG_LINE)}`);
    lines.push(`${SCREENSHOT_LOG_MARK}-end`);
    process.stderr.write(`${lines.join("\n")}\n`);
}

/** @param {Partial<ProbeResult>} fields @returns {ProbeResult} */
function failure(fields) {
    return {
        verdict: "fail",
        reason: "probe-error",
        detail: "",
        transport: null,
        framesDecoded: 0,
        fps: 0,
        width: 0,
        height: 0,
        colours: null,
        roundTripTimeMs: null,
        codec: null,
        connectMs: null,
        verdictMs: null,
        screenshot: null,
        ...fields,
    };
}

/** @param {ProbeResult} result @param {number} code */
function finish(result, code) {
    progress(result.verdict === "pass" ? `PASS: ${result.detail}` : `FAIL (${result.reason}): ${result.detail}`);
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}

async function main() {
    /** @type {ProbeConfig} */
    let config;
    try {
        config = readConfig(process.env);
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        finish(failure({ reason: "bad-config", detail: e.message }), EXIT_BAD_CONFIG);
        return;
    }
    for (const signal of /** @type {const} */ (["SIGTERM", "SIGINT"])) {
        process.once(signal, () => finish(failure({ detail: `stopped by ${signal} before a verdict` }), EXIT_FAIL));
    }
    const watchdogSeconds = config.timeoutSeconds + config.seconds + WATCHDOG_GRACE_SECONDS;
    setTimeout(() => finish(failure({ detail: `no verdict after ${watchdogSeconds} s: the browser stopped answering` }), EXIT_FAIL), watchdogSeconds * 1000).unref();
    try {
        const result = await probe(config);
        finish(result, result.verdict === "pass" ? EXIT_PASS : EXIT_FAIL);
    } catch (e) {
        if (e instanceof ProbeFailure) finish(failure({ reason: e.reason, detail: e.message }), EXIT_FAIL);
        else finish(failure({ detail: `the probe itself failed: ${/** @type {Error} */ (e).message.split("\n")[0]}` }), EXIT_FAIL);
    }
}

if (require.main === module) main();

module.exports = { readConfig, ConfigError };
