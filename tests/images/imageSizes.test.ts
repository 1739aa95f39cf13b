import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadCatalog } from "../../catalog";
import { BASELINE_FILE, compressedLayerBytes, delta, readBaseline, sizeTable } from "../../scripts/lib/imageSizes";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "image-sizes-"));

/** An OCI layout folder holding one manifest with layers of the given sizes and media type. */
function layout(layerSizes: number[], mediaType = "application/vnd.oci.image.layer.v1.tar+gzip"): string {
    const dir = tmp();
    const manifest = JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 1234, digest: `sha256:${"c".repeat(64)}` },
        layers: layerSizes.map((size, i) => ({ mediaType, size, digest: `sha256:${String(i).repeat(64).slice(0, 64)}` })),
    });
    const hex = createHash("sha256").update(manifest).digest("hex");
    fs.mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true });
    fs.writeFileSync(path.join(dir, "blobs", "sha256", hex), manifest);
    fs.writeFileSync(path.join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${hex}`, size: manifest.length }] }));
    return dir;
}

describe("image sizes (scripts/lib/imageSizes.ts)", () => {
    it("a change reads as a signed size, and no change as ±0", () => {
        assert.equal(delta(1_085_800_000, 1_070_000_000), "+15.8 MB");
        assert.equal(delta(1_070_000_000, 1_085_800_000), "-15.8 MB");
        assert.equal(delta(500_000, 200_000), "+300 kB");
        assert.equal(delta(5, 5), "±0");
        assert.equal(delta(undefined, 5), "-");
    });

    it("the table puts each size beside its change since the recorded release, and marks images new to it", () => {
        const table = sizeTable(
            [
                { image: "chrome-selkies", uncompressedBytes: 1_085_800_000, compressedBytes: 402_300_000 },
                { image: "gimp-selkies", uncompressedBytes: 1_050_000_000, compressedBytes: 390_000_000 },
            ],
            { of: "v1.0.0", recorded: "2026-11-30", images: { "chrome-selkies": { uncompressedBytes: 1_090_000_000, compressedBytes: 400_000_000 } } },
        );
        const rows = table.split("\n");
        assert.match(rows[0], /Change since v1\.0\.0 \(2026-11-30\)/);
        assert.equal(rows[2], "| chrome-selkies | 1.09 GB | -4.2 MB | 402.3 MB | +2.3 MB |");
        assert.equal(rows[3], "| gimp-selkies | 1.05 GB | new | 390.0 MB | new |");
    });

    it("sums the gzip layers of an OCI layout, the bytes a registry stores and a node pulls", () => {
        const dir = layout([41_539_620, 307_661_472, 3_078_780, 12_401]);
        try {
            assert.equal(compressedLayerBytes(dir), 352_292_273);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses uncompressed layers, whose sizes would not be what a registry stores", () => {
        const dir = layout([100], "application/vnd.oci.image.layer.v1.tar");
        try {
            assert.throws(() => compressedLayerBytes(dir), /a layer is application\/vnd\.oci\.image\.layer\.v1\.tar, not gzip/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a malformed baseline file is refused, naming the file and every field at fault", () => {
        const dir = tmp();
        const file = path.join(dir, "sizes.json");
        try {
            fs.writeFileSync(file, JSON.stringify({ of: "", recorded: "yesterday", images: { "chrome-selkies": { uncompressedBytes: -1, compressedBytes: "4 MB" } } }));
            assert.throws(() => readBaseline(file), (e: Error) => {
                assert.match(e.message, /sizes\.json: /);
                assert.match(e.message, /'of' must name the release/);
                assert.match(e.message, /'recorded' must be a date/);
                assert.match(e.message, /images\.chrome-selkies\.uncompressedBytes must be a positive whole number/);
                assert.match(e.message, /images\.chrome-selkies\.compressedBytes must be a positive whole number/);
                return true;
            });
            fs.writeFileSync(file, "{ not json");
            assert.throws(() => readBaseline(file), /not JSON .*npm run bench:sizes -- --record/);
            assert.equal(readBaseline(path.join(dir, "absent.json")), undefined);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the recorded figures in images/sizes.json are valid and name only catalog images", () => {
        const baseline = readBaseline(BASELINE_FILE);
        assert.ok(baseline, "images/sizes.json is missing: record it with sudo npm run bench:sizes -- --record <release>");
        const names = new Set(loadCatalog().images.map((i) => i.name));
        assert.deepEqual(Object.keys(baseline.images).filter((n) => !names.has(n)), []);
        assert.ok(baseline.images["chrome-selkies"], "chrome-selkies has no recorded figures");
    });
});
