/** Small seeded data with planted sparse structure for the SAE tests (the benchmark's generator). */
export { plantedData } from "../bench/sae_data.ts";
