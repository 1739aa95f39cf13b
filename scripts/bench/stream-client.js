#!/usr/bin/env node
// @ts-check
/*
 * The streaming benchmark's client (scripts/bench-stream.ts runs it inside the stream-probe image,
 * in the session's network namespace). It opens the session's web client (Selkies, over WebSockets
 * or WebRTC) or noVNC in headless Chromium, and reads the picture it receives:
 *   - the first frame: when the first decoded frame (or noVNC's first drawn screen) arrived;
 *   - the clock row that scripts/bench/clock.html paints in the session's own browser: a red marker,
 *     20 bits of the painting time (Date.now() modulo 2^20, white 1, black 0), a green end;
 *   - over BENCH_SECONDS after the row is first seen: frames = distinct painting times received,
 *     latency = the client's clock minus the painted time, for each of them.
 * Settings (environment): BENCH_URL, BENCH_KIND (selkies or novnc), BENCH_USER,
 * BENCH_PASSWORD_FILE, BENCH_SECONDS, BENCH_WIDTH, BENCH_HEIGHT, BENCH_TIMEOUT_SECONDS,
 * BENCH_CHROMIUM. Prints "bench: window-start" and "bench: window-end" on stderr as the measured
 * window opens and closes, and one JSON line on stdout at the end.
 */
"use strict";

const fs = require("fs");

const BITS = 20;
const KEY = "__bench";

/** Runs in the page before its own scripts: reads every picture the page receives. */
function instrument(/** @type {{ key: string, bits: number, kind: string }} */ cfg) {
    const st = { firstAny: /** @type {number | null} */ (null), firstClock: /** @type {number | null} */ (null), recording: false, count: 0, latencies: /** @type {number[]} */ ([]), last: -1, marker: /** @type {{ x: number, y: number, s: number } | null} */ (null), width: 0, height: 0, peers: /** @type {RTCPeerConnection[]} */ ([]) };
    Object.defineProperty(window, cfg.key, { value: st });
    // The peer connections, whose received bytes are read at both ends of the window.
    const Peer = window.RTCPeerConnection;
    if (Peer) {
        window.RTCPeerConnection = class extends Peer {
            /** @param {RTCConfiguration} [c] */
            constructor(c) {
                super(c);
                st.peers.push(this);
            }
        };
    }
    let lastScan = -Infinity;
    /** @type {OffscreenCanvas | null} */
    let canvas = null;
    /** @type {OffscreenCanvasRenderingContext2D | null} */
    let ctx = null;
    const isRed = (/** @type {Uint8ClampedArray} */ d, /** @type {number} */ o) => d[o] > 190 && d[o + 1] < 90 && d[o + 2] < 90;
    const isGreen = (/** @type {Uint8ClampedArray} */ d, /** @type {number} */ o) => d[o + 1] > 190 && d[o] < 90 && d[o + 2] < 90;
    function findMarker(/** @type {number} */ w, /** @type {number} */ h) {
        if (!ctx) return null;
        const rows = Math.min(h, 480);
        const d = ctx.getImageData(0, 0, w, rows).data;
        for (let y = 0; y < rows; y++) {
            for (let x = 0; x < w; x++) {
                if (!isRed(d, (y * w + x) * 4)) continue;
                let run = 0;
                while (x + run < w && isRed(d, (y * w + x + run) * 4)) run++;
                if (run >= 8) return { x, y, s: run };
            }
        }
        return null;
    }
    function read(/** @type {CanvasImageSource} */ source, /** @type {number} */ w, /** @type {number} */ h) {
        if (!w || !h) return;
        if (st.firstAny === null) st.firstAny = Date.now();
        st.width = w;
        st.height = h;
        if (!canvas || canvas.width !== w || canvas.height !== h) {
            canvas = new OffscreenCanvas(w, h);
            ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext("2d", { willReadFrequently: true }));
            st.marker = null;
        }
        if (!ctx) return;
        ctx.drawImage(source, 0, 0, w, h);
        if (!st.marker) {
            // A full scan is costly: at most four a second until the row is found.
            if (performance.now() - lastScan < 250) return;
            lastScan = performance.now();
            st.marker = findMarker(w, h);
            if (!st.marker) return;
        }
        const { x, y, s } = st.marker;
        const length = Math.min(w - x, s * (cfg.bits + 2));
        const row = ctx.getImageData(x, Math.min(h - 1, y + Math.floor(s / 2)), length, 1).data;
        const at = (/** @type {number} */ i) => Math.floor(i * s + s / 2) * 4;
        if (!isRed(row, at(0))) {
            st.marker = null;
            return;
        }
        if (at(cfg.bits + 1) >= row.length || !isGreen(row, at(cfg.bits + 1))) return;
        let value = 0;
        for (let i = 1; i <= cfg.bits; i++) value = value * 2 + ((row[at(i)] + row[at(i) + 1] + row[at(i) + 2]) / 3 > 128 ? 1 : 0);
        const now = Date.now();
        if (st.firstClock === null) st.firstClock = now;
        if (value === st.last) return;
        st.last = value;
        if (!st.recording) return;
        st.count += 1;
        let latency = (now % 2 ** cfg.bits) - value;
        if (latency < 0) latency += 2 ** cfg.bits;
        st.latencies.push(latency);
    }
    // Selkies over WebSockets: every frame a VideoDecoder puts out, before the page's own output.
    const Decoder = window.VideoDecoder;
    if (Decoder) {
        window.VideoDecoder = class extends Decoder {
            /** @param {VideoDecoderInit} init */
            constructor(init) {
                const output = init.output;
                super({ ...init, output: (frame) => { try { read(frame, frame.displayWidth, frame.displayHeight); } catch { /* a frame that cannot be read counts as not received */ } output(frame); } });
            }
        };
    }
    // WebRTC: every frame a playing <video> presents. noVNC: its canvas, as often as it can change.
    setInterval(() => {
        if (cfg.kind === "novnc") {
            const c = document.querySelector("canvas");
            if (c && c.width > 0) read(c, c.width, c.height);
            return;
        }
        for (const video of Array.from(document.querySelectorAll("video"))) {
            if (!video.srcObject || /** @type {any} */ (video).__benchWatched) continue;
            /** @type {any} */ (video).__benchWatched = true;
            if (video.paused) video.play().catch(() => undefined);
            const each = () => {
                if (video.videoWidth > 0) read(video, video.videoWidth, video.videoHeight);
                video.requestVideoFrameCallback(each);
            };
            video.requestVideoFrameCallback(each);
        }
    }, cfg.kind === "novnc" ? 4 : 200);
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the session's /health on port 8080 answers 200. */
async function waitForHealth(/** @type {string} */ host, /** @type {number} */ deadline) {
    const http = require("http");
    for (;;) {
        const ok = await new Promise((resolve) => {
            const req = http.get({ host, port: 8080, path: "/health", timeout: 2000 }, (/** @type {import("http").IncomingMessage} */ res) => {
                res.resume();
                resolve(res.statusCode === 200);
            });
            req.on("error", () => resolve(false));
            req.on("timeout", () => req.destroy());
        });
        if (ok) return;
        if (Date.now() > deadline) throw new Error("the session's /health never answered 200");
        await sleep(200);
    }
}

async function main() {
    const env = process.env;
    const url = env.BENCH_URL || "http://localhost:8080/";
    const kind = env.BENCH_KIND === "novnc" ? "novnc" : "selkies";
    const seconds = Number(env.BENCH_SECONDS || 30);
    const width = Number(env.BENCH_WIDTH || 1280);
    const height = Number(env.BENCH_HEIGHT || 720);
    const deadline = Date.now() + Number(env.BENCH_TIMEOUT_SECONDS || 120) * 1000;
    const password = env.BENCH_PASSWORD_FILE ? fs.readFileSync(env.BENCH_PASSWORD_FILE, "utf8").trim() : undefined;
    const { chromium } = require("playwright-core");
    const browser = await chromium.launch({
        executablePath: env.BENCH_CHROMIUM || "/usr/bin/chromium",
        headless: true,
        args: ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required", "--disable-features=WebRtcHideLocalIpsWithMdns"],
    });
    /** @type {Record<string, unknown>} */
    const result = { kind, width: 0, height: 0, firstAnyAt: null, firstClockAt: null, frames: 0, seconds, latencies: [] };
    try {
        const origin = new URL(url).origin;
        const context = await browser.newContext({
            viewport: { width, height },
            httpCredentials: password && kind === "selkies" ? { username: env.BENCH_USER || "user", password, origin } : undefined,
        });
        await context.addInitScript(`(${instrument})(${JSON.stringify({ key: KEY, bits: BITS, kind })});`);
        const page = await context.newPage();
        // Bytes of every WebSocket message the page receives while the window is open.
        let recording = false;
        let socketBytes = 0;
        page.on("websocket", (ws) => ws.on("framereceived", (f) => { if (recording) socketBytes += f.payload.length; }));
        // noVNC connects once and gives up if the VNC server is not up yet: wait for the session.
        if (kind === "novnc") await waitForHealth(new URL(url).hostname, deadline);
        const target = kind === "novnc" && password ? `${url}${url.includes("?") ? "&" : "?"}password=${encodeURIComponent(password)}` : url;
        for (;;) {
            try {
                const response = await page.goto(target, { waitUntil: "domcontentloaded", timeout: 10000 });
                if (response && response.status() < 400) break;
            } catch {
                // The session is still starting.
            }
            if (Date.now() > deadline) throw new Error(`${url} did not answer before the deadline`);
            await sleep(300);
        }
        /** @returns {Promise<any>} */
        const state = () => page.evaluate((key) => { const s = /** @type {any} */ (window)[key]; return { firstAny: s.firstAny, firstClock: s.firstClock }; }, KEY);
        // Bytes the peer connections received so far (WebRTC media and data).
        const peerBytes = () =>
            page.evaluate(async (key) => {
                let total = 0;
                for (const pc of /** @type {RTCPeerConnection[]} */ (/** @type {any} */ (window)[key].peers)) {
                    if (pc.connectionState === "closed") continue;
                    (await pc.getStats()).forEach((r) => {
                        if (r.type === "transport" && typeof r.bytesReceived === "number") total += r.bytesReceived;
                    });
                }
                return total;
            }, KEY);
        let st = await state();
        while (st.firstClock === null) {
            if (Date.now() > deadline) throw new Error(`no clock row received before the deadline (first frame ${st.firstAny === null ? "never" : "received"})`);
            await sleep(100);
            st = await state();
        }
        const peersBefore = await peerBytes();
        await page.evaluate((key) => { /** @type {any} */ (window)[key].recording = true; }, KEY);
        recording = true;
        const windowStart = Date.now();
        process.stderr.write("bench: window-start\n");
        await sleep(seconds * 1000);
        process.stderr.write("bench: window-end\n");
        const final = await page.evaluate((key) => { const s = /** @type {any} */ (window)[key]; s.recording = false; return { width: s.width, height: s.height, firstAny: s.firstAny, firstClock: s.firstClock, count: s.count, latencies: s.latencies }; }, KEY);
        recording = false;
        const received = socketBytes + ((await peerBytes()) - peersBefore);
        Object.assign(result, { width: final.width, height: final.height, firstAnyAt: final.firstAny, firstClockAt: final.firstClock, frames: final.count, latencies: final.latencies, bytesPerSecond: Math.round(received / ((Date.now() - windowStart) / 1000)) });
    } catch (e) {
        result.error = /** @type {Error} */ (e).message.split("\n")[0];
    } finally {
        await browser.close().catch(() => undefined);
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
