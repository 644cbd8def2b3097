// Node has WebAssembly at run time; TypeScript declares it only in the DOM library, which we do not load.
declare namespace WebAssembly {
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
}
