/**
 * Benchmark of the offline image builds: per image, the build time cold (empty layer storage) and
 * warm (the same build again, from the layer cache), the uncompressed size and largest layers, and
 * the time from `podman run` to a passing HEALTHCHECK (median of several boots).
 *
 *   npm run bench:images [-- --only IMAGE ... --boots N]
 *
 * Runs scripts/offline-images.sh twice on a storage folder of its own (removed at the end), so the
 * cache of the test command is neither used nor disturbed. Writes artifacts/bench/images.md and
 * images.json and prints the table. Targets are reported, never asserted.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sizeText } from "./lib/sizes";

const ROOT = path.resolve(__dirname, "..");

/** The targets of the offline builds on a 2-core machine. */
export const TARGETS = {
    /** A warm rebuild of an unchanged image takes under this share of its cold build. */
    warmShareOfCold: 0.1,
    /** Uncompressed size limits, per image. */
    maxBytes: { "chrome-selkies": 1.2e9 } as Record<string, number>,
    /** From `podman run` to a passing HEALTHCHECK. */
    readySeconds: 10,
};

export interface Layer {
    bytes: number;
    instruction: string;
}

export interface ImageFigures {
    image: string;
    coldBuildSeconds?: number;
    warmBuildSeconds?: number;
    sizeBytes?: number;
    largestLayers: Layer[];
    readySeconds: number[];
    stopSeconds: number[];
}

export interface TargetCheck {
    image: string;
    target: string;
    met: boolean;
}

export interface BenchResult {
    machine: { cpus: number; memoryGiB: number };
    debootstrap: { seconds?: number; cached: boolean };
    images: ImageFigures[];
    targets: TargetCheck[];
}

/** Reads the "image<TAB>key<TAB>value" lines that offline-images.sh --report writes. */
export function parseReport(text: string): Map<string, Map<string, string[]>> {
    const byImage = new Map<string, Map<string, string[]>>();
    for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        const [image, key, ...rest] = line.split("\t");
        if (!image || !key) throw new Error(`not a report line (image<TAB>key<TAB>value): ${JSON.stringify(line)}`);
        const entries = byImage.get(image) ?? new Map<string, string[]>();
        entries.set(key, [...(entries.get(key) ?? []), rest.join("\t")]);
        byImage.set(image, entries);
    }
    return byImage;
}

function numbers(values: string[] | undefined): number[] {
    return (values ?? []).map(Number).filter((n) => Number.isFinite(n));
}

/** The figures of every built image, in the order the cold run built them. */
export function collectFigures(cold: string, warm: string): { images: ImageFigures[]; debootstrap: BenchResult["debootstrap"] } {
    const coldRun = parseReport(cold);
    const warmRun = parseReport(warm);
    const images: ImageFigures[] = [];
    let debootstrap: BenchResult["debootstrap"] = { cached: true };
    for (const [image, entries] of coldRun) {
        if (entries.has("debootstrap_seconds")) {
            debootstrap = { seconds: numbers(entries.get("debootstrap_seconds"))[0], cached: entries.get("debootstrap_cached")?.[0] === "yes" };
            continue;
        }
        images.push({
            image,
            coldBuildSeconds: numbers(entries.get("build_seconds"))[0],
            warmBuildSeconds: numbers(warmRun.get(image)?.get("build_seconds"))[0],
            sizeBytes: numbers(entries.get("size_bytes"))[0],
            largestLayers: (entries.get("layer") ?? []).map((l) => {
                const [bytes, ...instruction] = l.split("\t");
                return { bytes: Number(bytes), instruction: instruction.join("\t") };
            }),
            readySeconds: numbers(entries.get("ready_seconds")),
            stopSeconds: numbers(entries.get("stop_seconds")),
        });
    }
    return { images, debootstrap };
}

export function median(values: number[]): number | undefined {
    if (values.length === 0) return undefined;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Every target that applies to an image; a missing figure counts as not met. */
export function checkTargets(images: ImageFigures[]): TargetCheck[] {
    const checks: TargetCheck[] = [];
    for (const f of images) {
        const share = f.coldBuildSeconds && f.warmBuildSeconds !== undefined ? f.warmBuildSeconds / f.coldBuildSeconds : undefined;
        checks.push({
            image: f.image,
            target: `warm rebuild < ${TARGETS.warmShareOfCold * 100}% of cold`,
            met: share !== undefined && share < TARGETS.warmShareOfCold,
        });
        const limit = TARGETS.maxBytes[f.image];
        if (limit !== undefined) {
            checks.push({ image: f.image, target: `size < ${formatBytes(limit)}`, met: f.sizeBytes !== undefined && f.sizeBytes < limit });
        }
        // Tool images are built, never booted: start-up applies to images that were started.
        if (f.readySeconds.length === 0 && f.stopSeconds.length === 0) continue;
        const ready = median(f.readySeconds);
        checks.push({ image: f.image, target: `start to ready < ${TARGETS.readySeconds} s`, met: ready !== undefined && ready < TARGETS.readySeconds });
    }
    return checks;
}

/** Sizes as registries and `podman images` show them (1000-based), "-" when unknown. */
export function formatBytes(bytes: number | undefined): string {
    return sizeText(bytes, "-", 0);
}

function seconds(value: number | undefined): string {
    return value === undefined ? "-" : `${value.toFixed(1)} s`;
}

/** A layer's instruction, short enough for a table cell. */
export function shortInstruction(instruction: string): string {
    // A RUN step is recorded as "|N KEY=value ... /bin/sh -c command", and values may hold spaces:
    // the command starts after the shell.
    const shell = instruction.indexOf("/bin/sh -c ");
    const text = (shell >= 0 ? instruction.slice(shell + "/bin/sh -c ".length) : instruction)
        .replace(/^#\(nop\) /, "")
        .replace(/\s+/g, " ")
        .trim();
    // Cut before escaping, so that a cut never splits an escaped pipe and breaks the table.
    const cut = text.length > 60 ? `${text.slice(0, 59)}…` : text;
    return cut.replace(/\|/g, "\\|");
}

export function renderMarkdown(result: BenchResult): string {
    const lines = [
        `# Offline image builds: benchmark`,
        ``,
        `Machine: ${result.machine.cpus} CPUs, ${result.machine.memoryGiB} GiB. Debian base (debootstrap): ${
            result.debootstrap.seconds === undefined ? "-" : `${result.debootstrap.seconds.toFixed(1)} s`
        }${result.debootstrap.cached ? " (made by an earlier run, reused)" : ""}.`,
        ``,
        `| Image | Cold build | Warm build | Warm / cold | Size | Largest layers | Start to ready (median) | Stop |`,
        `|-------|-----------:|-----------:|------------:|-----:|----------------|------------------------:|-----:|`,
    ];
    for (const f of result.images) {
        const share = f.coldBuildSeconds && f.warmBuildSeconds !== undefined ? `${((f.warmBuildSeconds / f.coldBuildSeconds) * 100).toFixed(1)}%` : "-";
        const layers = f.largestLayers.map((l) => `${formatBytes(l.bytes)} \`${shortInstruction(l.instruction)}\``).join("<br>") || "-";
        const ready = median(f.readySeconds);
        const readyCell = ready === undefined ? "-" : `${seconds(ready)} (${f.readySeconds.length} boots)`;
        lines.push(
            `| ${f.image} | ${seconds(f.coldBuildSeconds)} | ${seconds(f.warmBuildSeconds)} | ${share} | ${formatBytes(f.sizeBytes)} | ${layers} | ${readyCell} | ${seconds(median(f.stopSeconds))} |`,
        );
    }
    lines.push(``, `| Image | Target | Met |`, `|-------|--------|-----|`);
    for (const t of result.targets) lines.push(`| ${t.image} | ${t.target} | ${t.met ? "yes" : "**no**"} |`);
    return `${lines.join("\n")}\n`;
}

interface Options {
    only: string[];
    boots: number;
    out: string;
}

function parseOptions(argv: string[]): Options {
    const opts: Options = { only: [], boots: 3, out: path.join(ROOT, "artifacts", "bench") };
    for (let i = 0; i < argv.length; i++) {
        const value = (): string => {
            const v = argv[++i];
            if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
            return v;
        };
        if (argv[i] === "--only") opts.only.push(value());
        else if (argv[i] === "--boots") opts.boots = Number(value());
        else if (argv[i] === "--out") opts.out = path.resolve(value());
        else throw new Error(`unknown argument '${argv[i]}'; usage: bench-images.ts [--only IMAGE]... [--boots N] [--out DIR]`);
    }
    if (!Number.isInteger(opts.boots) || opts.boots < 1) throw new Error("--boots needs a positive whole number");
    return opts;
}

function offlineImages(args: string[]): number {
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "offline-images.sh"), ...args], { stdio: "inherit", cwd: ROOT });
    return r.status ?? 1;
}

function main(): void {
    const opts = parseOptions(process.argv.slice(2));
    const cache = process.env.STREAMSPACE_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "streamspace-images");
    const storage = path.join(cache, `bench-storage-${process.pid}`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-images-"));
    const coldReport = path.join(work, "cold.tsv");
    const warmReport = path.join(work, "warm.tsv");
    const only = opts.only.flatMap((o) => ["--only", o]);
    const common = ["--storage", storage, "--artifacts", path.join(opts.out, "run"), ...only];
    let status = 0;
    try {
        console.log(`bench: cold builds into the empty storage ${storage}, then ${opts.boots} boots per image`);
        status = offlineImages([...common, "--report", coldReport, "--no-tests", "--boots", String(opts.boots)]);
        console.log("bench: the same builds again, from the layer cache");
        status ||= offlineImages([...common, "--report", warmReport, "--no-boot"]);
        const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
        const { images, debootstrap } = collectFigures(read(coldReport), read(warmReport));
        const result: BenchResult = {
            machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
            debootstrap,
            images,
            targets: checkTargets(images),
        };
        fs.mkdirSync(opts.out, { recursive: true });
        const markdown = renderMarkdown(result);
        fs.writeFileSync(path.join(opts.out, "images.md"), markdown);
        fs.writeFileSync(path.join(opts.out, "images.json"), `${JSON.stringify(result, null, 2)}\n`);
        console.log(`\n${markdown}`);
        console.log(`Written: ${path.relative(ROOT, path.join(opts.out, "images.md"))}, ${path.relative(ROOT, path.join(opts.out, "images.json"))}`);
        if (status !== 0) console.error("bench: a build or boot failed (see above); its figures are missing from the table");
    } finally {
        offlineImages(["--storage", storage, "--remove-storage"]);
        fs.rmSync(work, { recursive: true, force: true });
    }
    process.exitCode = status;
}

if (require.main === module) {
    try {
        main();
    } catch (e) {
        console.error(`bench-images: ${(e as Error).message}`);
        process.exitCode = 2;
    }
}
