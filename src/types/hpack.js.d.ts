// hpack.js ships no types; this covers the decompressor the HTTP/2 sniffer uses.
declare module "hpack.js" {
  import type { Duplex } from "node:stream";

  export interface HeaderField {
    name: string;
    value: string;
    neverIndex: boolean;
  }

  export interface Decompressor extends Duplex {
    /** Decodes everything written so far; failures are emitted as "error" events. */
    execute(): void;
    read(): HeaderField | null;
  }

  const hpack: {
    decompressor: { create(options: { table: { size: number } }): Decompressor };
  };
  export default hpack;
}
