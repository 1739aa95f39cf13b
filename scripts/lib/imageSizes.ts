/**
 * Image sizes as a user pays for them: uncompressed (what `podman images` shows, the disk a node
 * needs) and compressed (the gzip layers a registry stores and a node pulls), with the change since
 * the figures recorded at the last release (images/sizes.json).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sizeText } from "./sizes";

export const BASELINE_FILE = path.resolve(__dirname, "..", "..", "images", "sizes.json");

export interface ImageSize {
    /** The catalog name. */
    image: string;
    uncompressedBytes?: number;
    /** Sum of the image's gzip layers, as pushed to a registry. */
    compressedBytes?: number;
}

/** Figures recorded at a release, to compare the next ones with. */
export interface SizeBaseline {
    /** What the figures were taken of: a release tag, or a commit before the first release. */
    of: string;
    /** Day they were recorded, YYYY-MM-DD. */
    recorded: string;
    images: Record<string, { uncompressedBytes: number; compressedBytes: number }>;
}

/** Reads and checks a baseline file; undefined when there is none. Names the file and the field at fault. */
export function readBaseline(file: string = BASELINE_FILE): SizeBaseline | undefined {
    if (!fs.existsSync(file)) return undefined;
    const where = path.relative(process.cwd(), file) || file;
    let data: unknown;
    try {
        data = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new Error(`${where}: not JSON (${(e as Error).message}); rewrite it with npm run bench:sizes -- --record`);
    }
    const b = data as Partial<SizeBaseline>;
    const problems: string[] = [];
    if (typeof b.of !== "string" || b.of === "") problems.push("'of' must name the release (or commit) the figures were taken of");
    if (typeof b.recorded !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(b.recorded)) problems.push("'recorded' must be a date, YYYY-MM-DD");
    if (!b.images || typeof b.images !== "object") problems.push("'images' must map image names to their figures");
    else {
        for (const [name, f] of Object.entries(b.images)) {
            for (const key of ["uncompressedBytes", "compressedBytes"] as const) {
                const v = (f as Record<string, unknown>)?.[key];
                if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) problems.push(`images.${name}.${key} must be a positive whole number of bytes`);
            }
        }
    }
    if (problems.length > 0) throw new Error(`${where}: ${problems.join("; ")}`);
    return b as SizeBaseline;
}

/** A signed change, in the units of sizeText: "+1.2 MB", "-300 kB", "±0". */
export function delta(now: number | undefined, before: number | undefined): string {
    if (now === undefined || before === undefined) return "-";
    const d = now - before;
    if (d === 0) return "±0";
    return `${d > 0 ? "+" : "-"}${sizeText(Math.abs(d), "-", 1)}`;
}

/** The Markdown table of sizes, each beside its change since the baseline when there is one. */
export function sizeTable(sizes: ImageSize[], baseline?: SizeBaseline): string {
    const since = baseline ? ` since ${baseline.of} (${baseline.recorded})` : "";
    const lines = [
        `| Image | Uncompressed | Change${since} | Compressed layers | Change${since} |`,
        `|-------|-------------:|-------:|------------------:|-------:|`,
    ];
    for (const s of sizes) {
        const before = baseline?.images[s.image];
        lines.push(
            `| ${s.image} | ${sizeText(s.uncompressedBytes, "-", 1)} | ${before ? delta(s.uncompressedBytes, before.uncompressedBytes) : "new"} | ${sizeText(s.compressedBytes, "-", 1)} | ${
                before ? delta(s.compressedBytes, before.compressedBytes) : "new"
            } |`,
        );
    }
    return lines.join("\n");
}

/** podman with the offline stage's configuration and storage (scripts/offline-images.sh). */
export function offlinePodmanEnv(): NodeJS.ProcessEnv {
    const cache = process.env.STREAMSPACE_CACHE_DIR ?? path.join(os.homedir(), ".cache", "streamspace-images");
    const conf = path.join(cache, "containers", "containers.conf");
    const storage = path.join(cache, "containers", "storage-storage.conf");
    if (!fs.existsSync(conf) || !fs.existsSync(storage)) {
        throw new Error(`no offline image storage under ${cache}: build the images first (sudo scripts/offline-images.sh --no-tests)`);
    }
    return { ...process.env, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage };
}

/** The reference of a catalog image built by scripts/offline-images.sh. */
export const offlineReference = (name: string) => `localhost/streamspace-offline/${name}:offline`;

/** The sum of the layer sizes of the one manifest of an OCI layout folder. */
export function compressedLayerBytes(layout: string): number {
    const index = JSON.parse(fs.readFileSync(path.join(layout, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    if (index.manifests.length !== 1) throw new Error(`${layout}: expected one manifest, found ${index.manifests.length}`);
    const [algorithm, hex] = index.manifests[0].digest.split(":");
    const manifest = JSON.parse(fs.readFileSync(path.join(layout, "blobs", algorithm, hex), "utf8")) as { layers: { size: number; mediaType: string }[] };
    for (const l of manifest.layers) {
        if (!/gzip/.test(l.mediaType)) throw new Error(`${layout}: a layer is ${l.mediaType}, not gzip: its size is not what a registry would store`);
    }
    return manifest.layers.reduce((sum, l) => sum + l.size, 0);
}

/**
 * Measures one local image: `podman image inspect` for the uncompressed size, and a push to a
 * temporary OCI layout with gzip layers (what a registry stores) for the compressed one.
 */
export function measureImage(env: NodeJS.ProcessEnv, reference: string, name: string): ImageSize {
    const inspect = spawnSync("podman", ["image", "inspect", "--format", "{{.Size}}", reference], { env, encoding: "utf8" });
    if (inspect.status !== 0) throw new Error(`${reference} is not in the local image storage: build it first (sudo scripts/offline-images.sh --only ${name} --no-tests)`);
    const layout = fs.mkdtempSync(path.join(os.tmpdir(), "image-size-"));
    try {
        const push = spawnSync("podman", ["push", "--quiet", "--compression-format", "gzip", reference, `oci:${layout}:size`], { env, encoding: "utf8", timeout: 600_000 });
        if (push.status !== 0) throw new Error(`podman push ${reference} to an OCI folder failed: ${(push.stderr || push.error?.message || "").trim().split("\n").pop()}`);
        return { image: name, uncompressedBytes: Number(inspect.stdout.trim()) || undefined, compressedBytes: compressedLayerBytes(layout) };
    } finally {
        fs.rmSync(layout, { recursive: true, force: true });
    }
}
