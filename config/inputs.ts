import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { Catalog, CatalogError, REPO_ROOT, loadCatalog } from "../catalog";
import { ConfigError, StackConfig, loadStackConfig } from "./index";

/** A broken catalog and a broken stack configuration, both said in one message. */
export class InputsError extends pulumi.RunError {
    constructor(
        readonly catalog: CatalogError,
        readonly config: ConfigError,
    ) {
        super(`${catalog.message}\n\n${config.message}`);
        this.name = "InputsError";
    }
}

/**
 * The image names a broken catalog still shows (folders, and the variants their metadata names
 * where it parses), so that the stack configuration is checked against them in the same round.
 */
function catalogNames(root: string): string[] {
    const dir = path.join(root, "images");
    const names: string[] = [];
    for (const folder of fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
        names.push(folder);
        try {
            const meta = parse(fs.readFileSync(path.join(dir, folder, "image.yaml"), "utf8")) as { variants?: { name?: unknown }[] };
            for (const v of meta?.variants ?? []) if (typeof v?.name === "string") names.push(`${folder}-${v.name}`);
        } catch {
            // Its own problem is already in the catalog's report.
        }
    }
    return names;
}

/**
 * The catalog and the stack configuration, both checked before any resource exists, every problem
 * of both in one report: a user fixes everything in one round instead of the catalog first.
 */
export function loadInputs(
    readConfig: (imageNames: readonly string[]) => StackConfig = loadStackConfig,
    root: string = REPO_ROOT,
): { catalog: Catalog; config: StackConfig } {
    let catalog: Catalog | undefined;
    let catalogError: CatalogError | undefined;
    try {
        catalog = loadCatalog(root);
    } catch (e) {
        if (!(e instanceof CatalogError)) throw e;
        catalogError = e;
    }
    let config: StackConfig | undefined;
    let configError: ConfigError | undefined;
    try {
        config = readConfig(catalog ? catalog.images.map((i) => i.name) : catalogNames(root));
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        configError = e;
    }
    if (catalogError && configError) throw new InputsError(catalogError, configError);
    if (catalogError) throw catalogError;
    if (configError) throw configError;
    return { catalog: catalog!, config: config! };
}
