import * as path from "path";
import { boolean, text } from "./fields";
import { defineSection } from "./section";

export interface TemplatesConfig {
    /** Create the Templates in the cluster (needs StreamSpace's CRDs installed there). */
    apply: boolean;
    /** Namespace the Templates are created in. */
    namespace: string;
    /** Folder the Template YAML files are written to, relative to the project root (or absolute); a folder per stack inside. */
    dir: string;
}

// RFC 1123 label: what Kubernetes accepts as a namespace name.
const namespacePattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const templatesSection = defineSection({
    keys: {
        templatesApply: boolean().default(false),
        templatesNamespace: text().default("streamspace"),
        templatesDir: text().default("artifacts/templates"),
    },
    examples: {
        templatesApply: "true",
        templatesNamespace: "streamspace",
        templatesDir: "artifacts/templates",
    },
    build(v, ctx): TemplatesConfig {
        if (!namespacePattern.test(v.templatesNamespace)) {
            ctx.problem({
                key: "templatesNamespace",
                value: v.templatesNamespace,
                message: "not a Kubernetes namespace name: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit",
            });
        }
        if (v.templatesDir.trim() === "") {
            ctx.problem({
                key: "templatesDir",
                value: v.templatesDir,
                message: "expected a folder, relative to Pulumi.yaml (e.g. artifacts/templates, or ../streamspace-templates/generated)",
            });
        }
        return { apply: v.templatesApply, namespace: v.templatesNamespace, dir: path.normalize(v.templatesDir) };
    },
});
