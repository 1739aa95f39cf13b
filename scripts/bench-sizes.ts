/**
 * Sizes of the images built by scripts/offline-images.sh: uncompressed and compressed (the gzip
 * layers a registry stores), each beside its change since the figures recorded at the last release
 * in images/sizes.json.
 *
 *   sudo npm run bench:sizes [-- --only IMAGE ...] [--record RELEASE]
 *
 * --record RELEASE writes the measured figures to images/sizes.json as those of RELEASE (a tag such
 * as v1.2.0): done once per release, so the next figures show what it changed. Writes
 * artifacts/bench/sizes.md and sizes.json and prints the table. Nothing is asserted.
 */
import * as fs from "fs";
import * as path from "path";
import { loadCatalog } from "../catalog";
import { BASELINE_FILE, ImageSize, SizeBaseline, measureImage, offlinePodmanEnv, offlineReference, readBaseline, sizeTable } from "./lib/imageSizes";
import { spawnSync } from "child_process";

const ROOT = path.resolve(__dirname, "..");

interface Options {
    only: string[];
    record?: string;
}

function parseOptions(argv: string[]): Options {
    const opts: Options = { only: [] };
    for (let i = 0; i < argv.length; i++) {
        const value = (): string => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new Error(`${argv[i - 1]} needs a value`);
            return v;
        };
        if (argv[i] === "--only") opts.only.push(value());
        else if (argv[i] === "--record") opts.record = value();
        else throw new Error(`unknown argument '${argv[i]}'; usage: npm run bench:sizes [-- --only IMAGE]... [--record RELEASE]`);
    }
    return opts;
}

function main(): void {
    const opts = parseOptions(process.argv.slice(2));
    const catalog = loadCatalog();
    const names = catalog.images.map((i) => i.name);
    for (const name of opts.only) {
        if (!names.includes(name)) throw new Error(`--only ${name}: not an image of the catalog (${names.join(", ")})`);
    }
    const env = offlinePodmanEnv();
    const built = names.filter((n) => spawnSync("podman", ["image", "exists", offlineReference(n)], { env }).status === 0);
    const wanted = opts.only.length > 0 ? opts.only : built;
    if (wanted.length === 0) throw new Error("no image of the catalog is built: build them first (sudo scripts/offline-images.sh --no-tests)");
    const baseline = readBaseline();
    const sizes: ImageSize[] = [];
    for (const name of wanted) {
        process.stderr.write(`bench-sizes: ${name}\n`);
        sizes.push(measureImage(env, offlineReference(name), name));
    }
    const date = new Date().toISOString().slice(0, 10);
    const report = [`# Image sizes, ${date}`, "", sizeTable(sizes, baseline), ""].join("\n");
    const out = path.join(ROOT, "artifacts", "bench");
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "sizes.md"), report);
    fs.writeFileSync(path.join(out, "sizes.json"), `${JSON.stringify({ date, sizes, baseline }, null, 2)}\n`);
    process.stdout.write(report);
    if (opts.record) {
        const missing = sizes.filter((s) => !s.uncompressedBytes || !s.compressedBytes).map((s) => s.image);
        if (missing.length > 0) throw new Error(`not recorded: no figures for ${missing.join(", ")}`);
        const recorded: SizeBaseline = {
            of: opts.record,
            recorded: date,
            images: Object.fromEntries(
                [...sizes].sort((a, b) => (a.image < b.image ? -1 : 1)).map((s) => [s.image, { uncompressedBytes: s.uncompressedBytes!, compressedBytes: s.compressedBytes! }]),
            ),
        };
        fs.writeFileSync(BASELINE_FILE, `${JSON.stringify(recorded, null, 2)}\n`);
        process.stdout.write(`Recorded as the figures of ${opts.record}: ${path.relative(ROOT, BASELINE_FILE)}\n`);
    }
}

if (require.main === module) {
    try {
        main();
    } catch (e) {
        process.stderr.write(`bench-sizes: ${(e as Error).message}\n`);
        process.exitCode = 2;
    }
}
