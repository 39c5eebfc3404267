export { describeStorageContract, endlessStream, generatedStream, type ContractHarness } from "./suite.ts";
