// Writes openapi.json at the repository root: the document the server serves
// at GET /openapi.json. Run after changing the protos: `npm run openapi`.
import { writeFileSync } from "node:fs";
import { openApiFile } from "../src/transport/rest/openapi.js";
import { openApiDocumentFromProtos } from "./openapi-document.js";

writeFileSync(openApiFile, `${JSON.stringify(openApiDocumentFromProtos(), null, 2)}\n`);
console.log(`wrote ${openApiFile}`);
