import { strict as assert } from "assert";
import { checkTargets, collectFigures, median, renderMarkdown } from "../../scripts/bench-images";

// The report lines scripts/offline-images.sh --report writes during a cold and a warm run.
const COLD = [
    "debian-bookworm\tdebootstrap_seconds\t91.2",
    "debian-bookworm\tdebootstrap_cached\tno",
    "selkies-base\tbuild_seconds\t300.0",
    "selkies-base\tsize_bytes\t650000000",
    "selkies-base\tlayer\t420000000\t|2 OCI_DESCRIPTION=A TURN relay for it OCI_TITLE=x /bin/sh -c apt-get update && apt-get install -y xvfb | tee log",
    "selkies-base\tlayer\t64000\t/bin/sh -c #(nop) COPY dir:abc in /",
    "selkies-base\tready_seconds\t4.1",
    "selkies-base\tready_seconds\t3.9",
    "selkies-base\tready_seconds\t12.0",
    "selkies-base\tstop_seconds\t0.8",
    "chrome-selkies\tbuild_seconds\t200.0",
    "chrome-selkies\tsize_bytes\t1300000000",
    "chrome-selkies\tready_seconds\t11.5",
    "coturn\tbuild_seconds\t20.0",
    "coturn\tsize_bytes\t131000000",
].join("\n");
const WARM = ["selkies-base\tbuild_seconds\t6.0", "chrome-selkies\tbuild_seconds\t40.0", "coturn\tbuild_seconds\t1.0"].join("\n");

describe("scripts/bench-images.ts (figures and table)", () => {
    const { images, debootstrap } = collectFigures(COLD, WARM);

    it("pairs each image's cold and warm build and keeps the debootstrap time apart", () => {
        assert.deepEqual(
            images.map((i) => [i.image, i.coldBuildSeconds, i.warmBuildSeconds]),
            [
                ["selkies-base", 300, 6],
                ["chrome-selkies", 200, 40],
                ["coturn", 20, 1],
            ],
        );
        assert.deepEqual(debootstrap, { seconds: 91.2, cached: false });
    });

    it("judges start-up by the median boot, so one slow boot does not decide", () => {
        assert.equal(median([4.1, 3.9, 12.0]), 4.1);
        assert.equal(median([1, 3]), 2);
        assert.equal(median([]), undefined);
    });

    it("reports each target per image: warm share, chrome-selkies size, start to ready (booted images only)", () => {
        const targets = checkTargets(images).map((t) => `${t.image}: ${t.target}: ${t.met ? "met" : "missed"}`);
        assert.deepEqual(targets, [
            "selkies-base: warm rebuild < 10% of cold: met",
            "selkies-base: start to ready < 10 s: met",
            "chrome-selkies: warm rebuild < 10% of cold: missed",
            "chrome-selkies: size < 1.20 GB: missed",
            "chrome-selkies: start to ready < 10 s: missed",
            "coturn: warm rebuild < 10% of cold: met",
        ]);
    });

    it("renders a markdown table whose rows keep their columns even when an instruction holds a pipe", () => {
        const md = renderMarkdown({ machine: { cpus: 2, memoryGiB: 24 }, debootstrap, images, targets: checkTargets(images) });
        const header = md.split("\n").find((l) => l.startsWith("| Image | Cold build"))!;
        const columns = (row: string): number => row.split(/(?<!\\)\|/).length;
        const row = md.split("\n").find((l) => l.startsWith("| selkies-base | 300.0 s"))!;
        assert.ok(row, md);
        assert.equal(columns(row), columns(header), row);
        assert.match(row, /\| 6\.0 s \| 2\.0% \| 650 MB \| 420 MB `apt-get update && apt-get install -y xvfb \\\| tee log`<br>64 kB `COPY dir:abc in \/` \| 4\.1 s \(3 boots\) \| 0\.8 s \|/);
        assert.match(md, /Debian base \(debootstrap\): 91\.2 s\./);
        assert.match(md, /\| chrome-selkies \| size < 1\.20 GB \| \*\*no\*\* \|/);
    });

    it("rejects a report line that is not image<TAB>key<TAB>value", () => {
        assert.throws(() => collectFigures("selkies-base build_seconds 3", ""), /not a report line/);
    });
});
