// Rewrites the configuration reference in docs/configuration.md from Pulumi.yaml and config/.
// Run: npm run config:docs
import * as fs from "fs";
import * as path from "path";
import { documentWithReference, renderConfigReference } from "../config/reference";

const root = path.resolve(__dirname, "..");
const file = path.join(root, "docs", "configuration.md");
fs.writeFileSync(file, documentWithReference(fs.readFileSync(file, "utf8"), renderConfigReference(root)));
console.log("docs/configuration.md: configuration reference updated");
