/** The types of minify.mjs, for the bench (TypeScript). */
export function minifyBundle(
  code: string,
  map?: string,
  mapName?: string,
): Promise<{ code: string; map: string | undefined }>;
