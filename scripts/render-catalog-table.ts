// Rewrites the catalog table in README.md from the metadata files under images/.
// Run: npm run catalog:readme
import * as fs from "fs";
import * as path from "path";
import { Catalog, CatalogImage, REPO_ROOT, loadCatalog } from "../catalog";

export const CATALOG_START = "<!-- catalog:start -->";
export const CATALOG_END = "<!-- catalog:end -->";

const PROTOCOL_NAMES: Record<CatalogImage["streamingProtocol"], string> = {
    selkies: "Selkies",
    kasmvnc: "KasmVNC",
    vnc: "VNC",
    none: "no streaming",
};

// Pipes would end a table cell.
function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();
}

function ports(image: CatalogImage): string {
    return image.ports.length === 0 ? "—" : image.ports.map((p) => `${p.port}${p.protocol === "UDP" ? "/udp" : ""} ${p.name}`).join(", ");
}

function flavour(catalog: Catalog, name: string): string {
    const v = catalog.get(name);
    return `[\`${v.name}\`](${path.posix.join(v.folder, v.dockerfile)}) (${PROTOCOL_NAMES[v.streamingProtocol]}, ${ports(v)}; ${v.platforms.map((p) => p.replace("linux/", "")).join(", ")})`;
}

/** The catalog table: one row per image folder, its flavours (variants) in the last column. */
export function renderCatalogTable(catalog: Catalog): string {
    const rows = catalog.images
        .filter((i) => !i.variantOf)
        .sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : a.kind === "session" ? -1 : b.kind === "session" ? 1 : a.kind < b.kind ? -1 : 1))
        .map((i) => {
            const name = `[\`${i.name}\`](${i.folder}/)${i.kind === "session" ? "" : ` (${i.kind})`}`;
            const flavours = i.variants.length === 0 ? "—" : i.variants.map((v) => flavour(catalog, v)).join("<br>");
            return `| ${[name, cell(i.description), ports(i), i.gpu, i.platforms.map((p) => p.replace("linux/", "")).join(", "), flavours].join(" | ")} |`;
        });
    return ["| Name | Description | Ports | GPU | Platforms | Flavours |", "|------|-------------|-------|-----|-----------|----------|", ...rows].join("\n");
}

/** README text with the table between the catalog markers replaced. */
export function readmeWithCatalogTable(readme: string, table: string): string {
    const start = readme.indexOf(CATALOG_START);
    const end = readme.indexOf(CATALOG_END);
    if (start < 0 || end < start) {
        throw new Error(`README.md needs the markers ${CATALOG_START} and ${CATALOG_END} (in that order) where the catalog table goes`);
    }
    return `${readme.slice(0, start + CATALOG_START.length)}\n${table}\n${readme.slice(end)}`;
}

if (require.main === module) {
    const file = path.join(REPO_ROOT, "README.md");
    fs.writeFileSync(file, readmeWithCatalogTable(fs.readFileSync(file, "utf8"), renderCatalogTable(loadCatalog())));
    console.log("README.md: catalog table updated");
}
