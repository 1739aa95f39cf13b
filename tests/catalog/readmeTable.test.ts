import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadCatalog } from "../../catalog";
import { CATALOG_END, CATALOG_START, readmeWithCatalogTable, renderCatalogTable } from "../../scripts/render-catalog-table";
import { ROOT } from "../harness";
import { validCatalog } from "./fixtures";

function tableOfReadme(): string {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf(CATALOG_START);
    const end = readme.indexOf(CATALOG_END);
    assert.ok(start >= 0 && end > start, `README.md lacks the ${CATALOG_START} / ${CATALOG_END} markers`);
    return readme.slice(start + CATALOG_START.length, end).trim();
}

describe("README catalog table", () => {
    it("matches the metadata (run `npm run catalog:readme` to refresh it)", () => {
        assert.equal(
            tableOfReadme(),
            renderCatalogTable(loadCatalog()),
            "README.md's catalog table and images/*/image.yaml disagree: run `npm run catalog:readme` and commit README.md",
        );
    });

    it("lists every image folder once, with each flavour under its app", () => {
        const table = tableOfReadme();
        const catalog = loadCatalog();
        for (const image of catalog.images) {
            const mentions = table.split(`[\`${image.name}\`]`).length - 1;
            assert.equal(mentions, 1, `${image.name} appears ${mentions} times in the table`);
            if (image.variantOf) {
                const row = table.split("\n").find((l) => l.startsWith(`| [\`${image.variantOf}\`]`));
                assert.ok(row?.includes(`[\`${image.name}\`]`), `${image.name} is not listed as a flavour of ${image.variantOf}`);
            }
        }
    });

    it("each row shows the description, ports, GPU use, platforms and flavours of its metadata", () => {
        const table = renderCatalogTable(loadCatalog(validCatalog()));
        const app = table.split("\n").find((l) => l.startsWith("| [`app`]"));
        assert.equal(
            app,
            "| [`app`](images/app/) | An app. | 8080 selkies, 5900 vnc | none | amd64 | " +
                "[`app-kasmvnc`](images/app/Dockerfile.kasmvnc) (KasmVNC, 3000 kasmvnc; amd64) |",
        );
        const base = table.split("\n").find((l) => l.startsWith("| [`base`]"));
        assert.equal(base, "| [`base`](images/base/) (base) | A base. | 8080 selkies | optional | amd64, arm64 | — |");
        // Session images come before bases and tools.
        assert.ok(table.indexOf("[`app`]") < table.indexOf("[`base`]"));
    });

    it("replaces only what lies between the markers, and says where the markers go when missing", () => {
        const readme = `# T\n\nbefore\n${CATALOG_START}\nold table\n${CATALOG_END}\nafter\n`;
        assert.equal(readmeWithCatalogTable(readme, "| new |"), `# T\n\nbefore\n${CATALOG_START}\n| new |\n${CATALOG_END}\nafter\n`);
        assert.throws(() => readmeWithCatalogTable("# no markers\n", "| x |"), /needs the markers <!-- catalog:start -->/);
    });
});
