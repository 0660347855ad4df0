/**
 * The Vox-Profile accent taxonomy (Feng et al., 2025, Table 2): 16 narrow labels grouped into three broad
 * regions. Manifests carry both; the broad label must be the one the narrow label belongs to.
 */

export const BROAD_LABELS = ["North America", "British Isles", "Other"] as const;
export type BroadLabel = typeof BROAD_LABELS[number];

/** Narrow label → broad region. */
export const NARROW_TO_BROAD: Readonly<Record<string, BroadLabel>> = {
  "North America": "North America",
  "English": "British Isles",
  "Irish": "British Isles",
  "Northern Irish": "British Isles",
  "Scottish": "British Isles",
  "Welsh": "British Isles",
  "East Asia": "Other",
  "Germanic": "Other",
  "Oceania": "Other",
  "Other": "Other",
  "Romance": "Other",
  "Semitic": "Other",
  "Slavic": "Other",
  "South African": "Other",
  "Southeast Asia": "Other",
  "South Asia": "Other",
};

export const NARROW_LABELS: readonly string[] = Object.keys(NARROW_TO_BROAD).sort();

export function isNarrowLabel(label: string): boolean {
  return Object.hasOwn(NARROW_TO_BROAD, label);
}

/** The broad region of a narrow label; throws for an unknown label. */
export function broadOf(narrow: string): BroadLabel {
  if (!isNarrowLabel(narrow)) {
    throw new Error(`unknown accent label ${JSON.stringify(narrow)} (known: ${NARROW_LABELS.join(", ")})`);
  }
  return NARROW_TO_BROAD[narrow];
}
