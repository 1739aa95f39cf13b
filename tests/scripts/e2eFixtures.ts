// Stand-ins for what a real end-to-end run produces: a probe pod's log and Pulumi engine events.
import { createHash } from "crypto";

/** Stands in for the probe's screenshot: PNG-signed bytes, long enough for several log lines. */
export const PROBE_LOG_PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(9000, "test double of a screenshot ")]);

/** A pod log as `kubectl logs` gives it: progress, the screenshot block, the verdict line last. */
export function probeLog(verdict: object, png: Buffer = PROBE_LOG_PNG): string {
    const base64 = png.toString("base64");
    const chunks: string[] = [];
    for (let at = 0; at < base64.length; at += 4096) chunks.push(`stream-probe-screenshot ${base64.slice(at, at + 4096)}`);
    return [
        "stream-probe: checking http://session.streamspace-session-test.svc.cluster.local:8080/",
        "stream-probe: connected after 640 ms",
        `stream-probe-screenshot-begin ${png.length} ${createHash("sha256").update(png).digest("hex")}`,
        ...chunks,
        "stream-probe-screenshot-end",
        "stream-probe: PASS: 598 frames decoded",
        JSON.stringify(verdict),
        "",
    ].join("\n");
}

/** One line of a `pulumi up --event-log` file. */
export function eventLine(timestamp: number, kind: "pre" | "outputs" | "failed", op: string, type: string, name: string, planning = false): string {
    const metadata = { op, urn: `urn:pulumi:dev::streamspace-images::${type}::${name}`, type, provider: "" };
    const event = kind === "pre" ? { resourcePreEvent: { metadata, planning } } : kind === "outputs" ? { resOutputsEvent: { metadata, planning } } : { resOpFailedEvent: { metadata, status: 1, steps: 1 } };
    return JSON.stringify({ sequence: timestamp, timestamp, ...event });
}
