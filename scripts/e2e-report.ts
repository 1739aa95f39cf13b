// The readable side of scripts/e2e.sh: reads what the run left in its work folder (Pulumi's event
// logs, the stack export, the probe pod's log, the phase times) and turns it into the probe's
// result, its screenshot, the list of images built and the summary a reviewer reads.
//
//   e2e-report.ts probe <pod log> <out dir>      writes probe-result.json and stream-probe.png
//   e2e-report.ts images <stack export>          prints "<name>\t<imageName>\t<repoDigest>" lines
//   e2e-report.ts changes <event log>            prints the changes an update made, one a line
//   e2e-report.ts summary <work dir> <outcome>   prints the Markdown summary
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { sizeText } from "./lib/sizes";

/** The probe's verdict line (images/stream-probe/rootfs/opt/stream-probe/stream-probe.js). */
export interface ProbeResult {
    verdict: "pass" | "fail";
    reason: string | null;
    detail: string;
    framesDecoded: number;
    fps: number;
    width: number;
    height: number;
    roundTripTimeMs: number | null;
    codec: string | null;
    connectMs: number | null;
    verdictMs: number | null;
    screenshot: string | null;
}

const SCREENSHOT_MARK = "stream-probe-screenshot";

/** The last verdict line of a probe's log (stdout and stderr together, as `kubectl logs` gives them). */
export function probeResultFromLog(log: string): ProbeResult | undefined {
    const lines = log.split("\n").reverse();
    for (const line of lines) {
        if (!line.startsWith("{")) continue;
        try {
            const parsed = JSON.parse(line);
            if (parsed && (parsed.verdict === "pass" || parsed.verdict === "fail")) return parsed as ProbeResult;
        } catch {
            // Not the verdict: another line that happens to start with a brace.
        }
    }
    return undefined;
}

/**
 * The PNG the probe printed with PROBE_SCREENSHOT_LOG=true: the last complete block of marked lines
 * whose length and SHA-256 match its begin line. Throws with the reason when a block is damaged.
 */
export function screenshotFromLog(log: string): Buffer | undefined {
    let found: Buffer | undefined;
    let block: { bytes: number; sha256: string; chunks: string[] } | undefined;
    for (const line of log.split("\n")) {
        const begin = new RegExp(`^${SCREENSHOT_MARK}-begin (\\d+) ([0-9a-f]{64})$`).exec(line);
        if (begin) {
            block = { bytes: Number(begin[1]), sha256: begin[2], chunks: [] };
        } else if (block && line.startsWith(`${SCREENSHOT_MARK} `)) {
            block.chunks.push(line.slice(SCREENSHOT_MARK.length + 1));
        } else if (block && line === `${SCREENSHOT_MARK}-end`) {
            const png = Buffer.from(block.chunks.join(""), "base64");
            const sha256 = createHash("sha256").update(png).digest("hex");
            if (png.length !== block.bytes || sha256 !== block.sha256) {
                throw new Error(`the screenshot in the probe's log is damaged: ${png.length} bytes with SHA-256 ${sha256}, its header says ${block.bytes} bytes with ${block.sha256}`);
            }
            found = png;
            block = undefined;
        }
    }
    return found;
}

/** One line of a `--event-log` file: a Pulumi engine event (only the fields read here). */
interface EngineEvent {
    timestamp: number;
    resourcePreEvent?: { metadata: StepMetadata; planning?: boolean };
    resOutputsEvent?: { metadata: StepMetadata; planning?: boolean };
    resOpFailedEvent?: { metadata: StepMetadata };
    summaryEvent?: { resourceChanges?: Record<string, number> };
}
interface StepMetadata {
    op: string;
    urn: string;
    type: string;
}

export function parseEventLog(text: string): EngineEvent[] {
    return text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .flatMap((line) => {
            try {
                return [JSON.parse(line) as EngineEvent];
            } catch {
                // The last line may be cut short when the update was killed.
                return [];
            }
        });
}

/** Steps that leave a resource as it was. */
const UNCHANGED = new Set(["same", "read", "refresh"]);

/** The resources an update created, changed or deleted: "<op> <type> <name>", in order. */
export function changesFromEvents(events: EngineEvent[]): string[] {
    const seen = new Set<string>();
    const changes: string[] = [];
    for (const e of events) {
        const m = e.resourcePreEvent?.metadata;
        if (!m || UNCHANGED.has(m.op) || m.type === "pulumi:pulumi:Stack") continue;
        const line = `${m.op} ${m.type} ${m.urn.split("::").pop()}`;
        if (!seen.has(line)) changes.push(line);
        seen.add(line);
    }
    return changes;
}

export type UpdatePhase = "builds" | "deploy" | "probe";

/** Which part of the update a resource type belongs to. */
export function phaseOf(type: string): UpdatePhase | undefined {
    if (type === "kubernetes:batch/v1:Job") return "probe";
    if (type.startsWith("docker:")) return "builds";
    if (type.startsWith("kubernetes:")) return "deploy";
    return undefined;
}

/**
 * Seconds each phase of the update took: from the first step of its resources to the last one's
 * end. The last pre-event of a resource counts, so the preview's pass before the update does not.
 */
export function phaseSeconds(events: EngineEvent[]): Partial<Record<UpdatePhase, number>> {
    const started = new Map<string, { at: number; phase: UpdatePhase }>();
    const spans: Partial<Record<UpdatePhase, { from: number; to: number }>> = {};
    for (const e of events) {
        const pre = e.resourcePreEvent;
        if (pre && !pre.planning && !UNCHANGED.has(pre.metadata.op)) {
            const phase = phaseOf(pre.metadata.type);
            if (phase) started.set(pre.metadata.urn, { at: e.timestamp, phase });
            continue;
        }
        const done = e.resOutputsEvent?.planning ? undefined : (e.resOutputsEvent ?? e.resOpFailedEvent);
        const start = done && started.get(done.metadata.urn);
        if (!start) continue;
        const span = spans[start.phase];
        spans[start.phase] = { from: Math.min(span?.from ?? start.at, start.at), to: Math.max(span?.to ?? e.timestamp, e.timestamp) };
    }
    const seconds: Partial<Record<UpdatePhase, number>> = {};
    for (const [phase, span] of Object.entries(spans) as [UpdatePhase, { from: number; to: number }][]) seconds[phase] = span.to - span.from;
    return seconds;
}

export interface BuiltImage {
    /** Catalog name, e.g. chrome-selkies. */
    name: string;
    imageName: string;
    repoDigest: string;
    /** Bytes in the local image store; undefined when Docker could not say. */
    sizeBytes?: number;
}

/** The images in a `pulumi stack export` (also of a stack whose update failed midway). */
export function imagesFromExport(exported: { deployment?: { resources?: Array<{ type: string; outputs?: Record<string, unknown> }> } }): BuiltImage[] {
    return (exported.deployment?.resources ?? [])
        .filter((r) => r.type === "docker:index/image:Image" && typeof r.outputs?.imageName === "string")
        .map((r) => {
            const imageName = String(r.outputs!.imageName);
            return { name: imageName.replace(/:[^:/]+$/, "").split("/").pop()!, imageName, repoDigest: String(r.outputs!.repoDigest ?? "") };
        })
        .sort((a, b) => a.name.localeCompare(b.name));
}

/** Reads `<name>\t<imageName>\t<repoDigest>\t<bytes>` lines (scripts/e2e.sh adds the sizes). */
export function parseImagesTable(text: string): BuiltImage[] {
    return text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => {
            const [name, imageName, repoDigest, bytes] = line.split("\t");
            return { name, imageName, repoDigest, sizeBytes: /^\d+$/.test(bytes ?? "") ? Number(bytes) : undefined };
        });
}

export function formatDuration(seconds: number): string {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min ${rest} s` : `${m} min ${rest} s`;
}

export function formatBytes(bytes: number | undefined): string {
    return sizeText(bytes, "unknown", 1);
}

export interface SummaryInput {
    /** "passed", or "failed: <why>". */
    outcome: string;
    /** Phases timed by the script, in order: [label, seconds]. */
    phases: Array<[string, number]>;
    /** Phases of the first update, from its event log. */
    updatePhases: Partial<Record<UpdatePhase, number>>;
    probe?: ProbeResult;
    screenshot?: string;
    images: BuiltImage[];
}

const UPDATE_PHASE_LABELS: Record<UpdatePhase, string> = {
    builds: "builds (docker images, pushed to the local registry)",
    deploy: "deploy (Kubernetes objects, until the session is available)",
    probe: "probe (the probe Job: stream-probe, in the cluster)",
};

/** Markdown that reads the same in a terminal and in a GitHub step summary. */
export function renderSummary(input: SummaryInput): string {
    const out: string[] = [];
    const passed = input.outcome === "passed";
    out.push(`## End to end: dev stack on kind ${passed ? "passed" : "FAILED"}`, "");
    if (!passed) out.push(`**${input.outcome}**`, "");

    out.push("| Phase | Time |", "|-------|-----:|");
    for (const [label, seconds] of input.phases) {
        out.push(`| ${label} | ${formatDuration(seconds)} |`);
        if (label.startsWith("deploy command")) {
            for (const phase of ["builds", "deploy", "probe"] as UpdatePhase[]) {
                const s = input.updatePhases[phase];
                if (s !== undefined) out.push(`| &nbsp;&nbsp;${UPDATE_PHASE_LABELS[phase]} | ${formatDuration(s)} |`);
            }
        }
    }
    out.push("");

    out.push("### Probe", "");
    const p = input.probe;
    if (!p) {
        out.push("No verdict: the probe Job did not run or left no log (see the deploy command's output).");
    } else {
        out.push(
            "| Verdict | fps | Resolution | Codec | Frames | Connect | Round trip |",
            "|---------|----:|------------|-------|-------:|--------:|-----------:|",
            `| ${p.verdict}${p.reason ? ` (${p.reason})` : ""} | ${p.fps} | ${p.width}x${p.height} | ${p.codec ?? "none"} | ${p.framesDecoded} | ${p.connectMs === null ? "-" : `${p.connectMs} ms`} | ${p.roundTripTimeMs === null ? "-" : `${p.roundTripTimeMs} ms`} |`,
            "",
            p.detail,
        );
    }
    out.push("");
    out.push(input.screenshot ? `Screenshot of the streamed session: \`${input.screenshot}\`.` : "No screenshot.", "");

    out.push("### Images built", "");
    if (input.images.length === 0) {
        out.push("None recorded in the stack.");
    } else {
        out.push("| Image | Size | Digest |", "|-------|-----:|--------|");
        for (const i of input.images) out.push(`| ${i.name} | ${formatBytes(i.sizeBytes)} | \`${i.repoDigest.split("@")[1] ?? i.repoDigest}\` |`);
        const total = input.images.reduce((sum, i) => sum + (i.sizeBytes ?? 0), 0);
        out.push("", `${input.images.length} images, ${formatBytes(total)} in the local image store (uncompressed; a layer an image shares with its base counts in both).`);
    }
    return `${out.join("\n")}\n`;
}

/** Reads `<label>\t<seconds>` lines. */
export function parsePhases(text: string): Array<[string, number]> {
    return text
        .split("\n")
        .filter((line) => line.includes("\t"))
        .map((line) => {
            const [label, seconds] = line.split("\t");
            return [label, Number(seconds)];
        });
}

function readIfThere(file: string): string | undefined {
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
}

/** The files scripts/e2e.sh leaves in its work folder. */
export const WORK_FILES = {
    phases: "phases.tsv",
    firstUpEvents: "up.events.jsonl",
    images: "images.tsv",
    probeResult: "probe-result.json",
    screenshot: "stream-probe.png",
};

export function summaryFromWorkDir(dir: string, outcome: string): string {
    const events = readIfThere(path.join(dir, WORK_FILES.firstUpEvents));
    const probe = readIfThere(path.join(dir, WORK_FILES.probeResult));
    const screenshot = path.join(dir, WORK_FILES.screenshot);
    return renderSummary({
        outcome,
        phases: parsePhases(readIfThere(path.join(dir, WORK_FILES.phases)) ?? ""),
        updatePhases: events ? phaseSeconds(parseEventLog(events)) : {},
        probe: probe ? (JSON.parse(probe) as ProbeResult) : undefined,
        screenshot: fs.existsSync(screenshot) ? WORK_FILES.screenshot : undefined,
        images: parseImagesTable(readIfThere(path.join(dir, WORK_FILES.images)) ?? ""),
    });
}

function main(argv: string[]): number {
    const [command, ...args] = argv;
    const need = (count: number, usage: string) => {
        if (args.length !== count) throw new UsageError(`usage: e2e-report.ts ${command} ${usage}`);
    };
    switch (command) {
        case "probe": {
            need(2, "<pod log> <out dir>");
            const [logFile, outDir] = args;
            const log = fs.readFileSync(logFile, "utf8");
            const result = probeResultFromLog(log);
            if (!result) {
                console.error(`e2e-report: no verdict line in ${logFile}: the probe did not finish (its log is kept there)`);
                return 1;
            }
            fs.writeFileSync(path.join(outDir, WORK_FILES.probeResult), `${JSON.stringify(result, null, 2)}\n`);
            const png = screenshotFromLog(log);
            if (png) fs.writeFileSync(path.join(outDir, WORK_FILES.screenshot), png);
            console.log(`probe: ${result.verdict}${result.reason ? ` (${result.reason})` : ""}, ${result.fps} fps, ${result.width}x${result.height} ${result.codec ?? "no codec"}; ${png ? `screenshot ${formatBytes(png.length)}` : "no screenshot in the log"}`);
            return 0;
        }
        case "images": {
            need(1, "<stack export>");
            for (const i of imagesFromExport(JSON.parse(fs.readFileSync(args[0], "utf8")))) console.log(`${i.name}\t${i.imageName}\t${i.repoDigest}`);
            return 0;
        }
        case "changes": {
            need(1, "<event log>");
            for (const change of changesFromEvents(parseEventLog(fs.readFileSync(args[0], "utf8")))) console.log(change);
            return 0;
        }
        case "summary": {
            need(2, "<work dir> <outcome>");
            process.stdout.write(summaryFromWorkDir(args[0], args[1]));
            return 0;
        }
        default:
            throw new UsageError("usage: e2e-report.ts probe|images|changes|summary ... (see the comment at the top of scripts/e2e-report.ts)");
    }
}

class UsageError extends Error {}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (e) {
        console.error(`e2e-report: ${(e as Error).message}`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
    }
}
