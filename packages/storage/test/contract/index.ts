export { type ContractHarness, describeStorageContract, endlessStream, generatedStream } from "./suite.ts";
