/** The loader version written into every Parquet file's key-value metadata and every manifest. */
export const LOADER_VERSION = '0.1.0';
