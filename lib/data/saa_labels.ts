/**
 * Speech Accent Archive speakers → Vox-Profile narrow accent labels. The whole rule is SAA_ACCENT_TABLE:
 * a native English speaker is labelled by birth country, anyone else by native language (L1). A country
 * or language the table does not list gets no label (`null`); the preparer reports it with its count
 * instead of guessing. Birthplaces are free text scraped from the SAA pages (`['belfast,', 'northern',
 * 'ireland,', 'uk']`, `pittsburgh, pennsylvania, usa`, sometimes a US state with no country), so they are
 * parsed deliberately: parseBirthplace says which country it found and why.
 */
import { broadOf } from "./taxonomy.ts";

export interface AccentRule {
  narrow: string;
  /** Birth countries of native English speakers with this label (lower case, as parseBirthplace names them). */
  birthCountries: readonly string[];
  /** Native languages (L1) of non-native speakers with this label (lower case). */
  nativeLanguages: readonly string[];
}

/**
 * The one table. Countries: native English speakers born there. Languages: L2 speakers' first language.
 * Native English speakers born outside the English-speaking regions of the taxonomy (Caribbean, West
 * Africa, continental Europe, …) are "Other": their accent label is their birthplace, as for everyone
 * else, and the table lists each such country explicitly.
 */
export const SAA_ACCENT_TABLE: readonly AccentRule[] = [
  { narrow: "North America", birthCountries: ["usa", "canada"], nativeLanguages: [] },
  { narrow: "English", birthCountries: ["england", "isle of man", "channel islands"], nativeLanguages: [] },
  { narrow: "Scottish", birthCountries: ["scotland"], nativeLanguages: [] },
  { narrow: "Welsh", birthCountries: ["wales"], nativeLanguages: ["welsh"] },
  { narrow: "Northern Irish", birthCountries: ["northern ireland"], nativeLanguages: [] },
  { narrow: "Irish", birthCountries: ["ireland"], nativeLanguages: ["irish", "gaelic"] },
  { narrow: "Oceania", birthCountries: ["australia", "new zealand"], nativeLanguages: ["maori"] },
  {
    narrow: "South African",
    birthCountries: ["south africa"],
    nativeLanguages: ["afrikaans", "zulu", "xhosa"],
  },
  {
    narrow: "South Asia",
    birthCountries: ["india", "pakistan", "sri lanka", "bangladesh", "nepal"],
    nativeLanguages: [
      "hindi",
      "urdu",
      "bengali",
      "punjabi",
      "gujarati",
      "marathi",
      "tamil",
      "telugu",
      "kannada",
      "malayalam",
      "nepali",
      "sinhalese",
      "sindhi",
      "konkani",
      "oriya",
      "bhojpuri",
      "kashmiri",
      "rajasthani",
      "chittagonian",
      "sylheti",
    ],
  },
  {
    narrow: "Southeast Asia",
    birthCountries: ["singapore", "malaysia", "philippines"],
    nativeLanguages: [
      "tagalog",
      "filipino",
      "cebuano",
      "ilocano",
      "hiligaynon",
      "malay",
      "indonesian",
      "javanese",
      "vietnamese",
      "thai",
      "khmer",
      "lao",
      "burmese",
      "hmong",
      "tetum",
    ],
  },
  {
    narrow: "East Asia",
    birthCountries: ["hong kong"],
    nativeLanguages: [
      "mandarin",
      "cantonese",
      "chinese",
      "taiwanese",
      "wu",
      "hakka",
      "min",
      "japanese",
      "korean",
      "shanghainese",
      "xiang",
      "gan",
    ],
  },
  {
    narrow: "Romance",
    birthCountries: [],
    nativeLanguages: [
      "spanish",
      "french",
      "portuguese",
      "italian",
      "romanian",
      "catalan",
      "galician",
      "sardinian",
    ],
  },
  {
    narrow: "Germanic",
    birthCountries: [],
    nativeLanguages: [
      "german",
      "dutch",
      "flemish",
      "swedish",
      "norwegian",
      "danish",
      "icelandic",
      "faroese",
      "frisian",
      "luxembourgish",
      "swiss german",
      "yiddish",
      "bavarian",
      "low german",
      "pennsylvania dutch",
    ],
  },
  {
    narrow: "Semitic",
    birthCountries: [],
    nativeLanguages: [
      "arabic",
      "hebrew",
      "amharic",
      "tigrigna",
      "tigre",
      "maltese",
      "aramaic",
      "assyrian",
      "chaldean",
      "neo-aramaic",
    ],
  },
  {
    narrow: "Slavic",
    birthCountries: [],
    nativeLanguages: [
      "russian",
      "polish",
      "czech",
      "slovak",
      "ukrainian",
      "belarusan",
      "belarusian",
      "bulgarian",
      "macedonian",
      "serbian",
      "croatian",
      "bosnian",
      "slovenian",
      "rusyn",
      "sorbian",
    ],
  },
  {
    narrow: "Other",
    birthCountries: [
      // Caribbean and Central America
      "jamaica",
      "guyana",
      "trinidad and tobago",
      "barbados",
      "bahamas",
      "antigua and barbuda",
      "belize",
      "us virgin islands",
      "panama",
      "bolivia",
      // Africa outside South Africa
      "nigeria",
      "ghana",
      "liberia",
      "sierra leone",
      "kenya",
      "uganda",
      "zimbabwe",
      // Pacific outside Australia and New Zealand
      "fiji",
      "papua new guinea",
      // Europe and the Middle East (native English speakers born abroad)
      "germany",
      "spain",
      "italy",
      "switzerland",
      "lebanon",
      "united arab emirates",
      "bermuda",
      "puerto rico",
      "saint lucia",
      "grenada",
      "saint kitts and nevis",
      "dominica",
      "saint vincent and the grenadines",
      "cayman islands",
      "british virgin islands",
      "anguilla",
      "montserrat",
      "turks and caicos islands",
      "cameroon",
      "gambia",
      "zambia",
      "botswana",
      "namibia",
      "malawi",
      "tanzania",
      "ethiopia",
      "egypt",
      "israel",
      "saudi arabia",
      "kuwait",
      "qatar",
      "bahrain",
      "oman",
      "japan",
      "south korea",
      "china",
      "taiwan",
      "thailand",
      "indonesia",
      "france",
      "netherlands",
      "belgium",
      "sweden",
      "norway",
      "denmark",
      "austria",
      "portugal",
      "greece",
      "turkey",
      "iran",
      "brazil",
      "argentina",
      "chile",
      "mexico",
      "colombia",
      "venezuela",
      "peru",
      "ecuador",
      "costa rica",
      "honduras",
      "guatemala",
      "nicaragua",
      "el salvador",
      "micronesia",
      "guam",
      "american samoa",
      "samoa",
      "tonga",
      "marshall islands",
      "palau",
    ],
    nativeLanguages: [
      "turkish",
      "farsi",
      "persian",
      "greek",
      "hungarian",
      "finnish",
      "estonian",
      "latvian",
      "lithuanian",
      "albanian",
      "armenian",
      "georgian",
      "kurdish",
      "pashto",
      "dari",
      "uzbek",
      "kazakh",
      "mongolian",
      "swahili",
      "yoruba",
      "igbo",
      "hausa",
      "twi",
      "somali",
      "basque",
      "azerbaijani",
      "turkmen",
      "kyrgyz",
      "tajiki",
      "tatar",
      "uyghur",
      "tibetan",
      "bai",
      "kiswahili",
      "amazigh",
      "kabyle",
      "oromo",
      "hadiyya",
      "dinka",
      "bari",
      "luo",
      "kikuyu",
      "ganda",
      "luganda",
      "rwanda",
      "kinyarwanda",
      "kirundi",
      "shona",
      "kalanga",
      "ndebele",
      "tswana",
      "sotho",
      "chichewa",
      "wolof",
      "jola",
      "mandingo",
      "mandinka",
      "bambara",
      "fulfulde",
      "fula",
      "mende",
      "krio",
      "kru",
      "ewe",
      "fanti",
      "ga",
      "akan",
      "agni",
      "dagbani",
      "edo",
      "ibibio",
      "efik",
      "baga",
      "balanta",
      "bafang",
      "bamun",
      "lingala",
      "malagasy",
      "haitian creole",
      "papiamentu",
      "garifuna",
      "chamorro",
      "carolinian",
      "fijian",
      "samoan",
      "tongan",
      "marshallese",
      "palauan",
      "pohnpeian",
      "chuukese",
      "yapese",
      "quechua",
      "guarani",
      "nahuatl",
      "esperanto",
      "romani",
      "ossetic",
      "chechen",
      "abkhaz",
      "circassian",
      "mizo",
      "naga",
    ],
  },
];

function invert(key: "birthCountries" | "nativeLanguages"): ReadonlyMap<string, string> {
  const m = new Map<string, string>();
  for (const rule of SAA_ACCENT_TABLE) {
    for (const k of rule[key]) {
      if (m.has(k)) throw new Error(`SAA_ACCENT_TABLE lists ${JSON.stringify(k)} twice (${key})`);
      m.set(k, rule.narrow);
    }
  }
  return m;
}

const BY_COUNTRY = invert("birthCountries");
const BY_LANGUAGE = invert("nativeLanguages");

/** Names a birthplace may use for a country, → the table's name. */
const COUNTRY_ALIASES: Readonly<Record<string, string>> = {
  "us": "usa",
  "u.s.": "usa",
  "u.s.a.": "usa",
  "united states": "usa",
  "united states of america": "usa",
  "america": "usa",
  "the bahamas": "bahamas",
  "trinidad": "trinidad and tobago",
  "st. lucia": "saint lucia",
  "st lucia": "saint lucia",
  "st. kitts": "saint kitts and nevis",
  "st. kitts and nevis": "saint kitts and nevis",
  "st. vincent": "saint vincent and the grenadines",
  "korea": "south korea",
  "republic of korea": "south korea",
  "holland": "netherlands",
  "the netherlands": "netherlands",
  "the gambia": "gambia",
  "tobago": "trinidad and tobago",
  "republic of ireland": "ireland",
  "eire": "ireland",
  "nz": "new zealand",
  "uae": "united arab emirates",
  "jersey": "channel islands",
  "guernsey": "channel islands",
};

/** The UK's constituent countries, as a UK birthplace may name them before "uk". */
const UK_COUNTRIES = ["northern ireland", "scotland", "wales", "england"];
const UK_NAMES = new Set(["uk", "u.k.", "united kingdom", "great britain", "britain", "gb"]);

/** A birthplace naming a state or province but no country is in the USA or Canada. */
const US_STATES = new Set([
  "alabama",
  "alaska",
  "arizona",
  "arkansas",
  "california",
  "colorado",
  "connecticut",
  "delaware",
  "florida",
  "georgia",
  "hawaii",
  "idaho",
  "illinois",
  "indiana",
  "iowa",
  "kansas",
  "kentucky",
  "louisiana",
  "maine",
  "maryland",
  "massachusetts",
  "michigan",
  "minnesota",
  "mississippi",
  "missouri",
  "montana",
  "nebraska",
  "nevada",
  "new hampshire",
  "new jersey",
  "new mexico",
  "new york",
  "north carolina",
  "north dakota",
  "ohio",
  "oklahoma",
  "oregon",
  "pennsylvania",
  "rhode island",
  "south carolina",
  "south dakota",
  "tennessee",
  "texas",
  "utah",
  "vermont",
  "virginia",
  "washington",
  "west virginia",
  "wisconsin",
  "wyoming",
  "district of columbia",
  "washington dc",
  "washington, dc",
  "dc",
]);
const CANADIAN_PROVINCES = new Set([
  "alberta",
  "british columbia",
  "manitoba",
  "new brunswick",
  "newfoundland",
  "newfoundland and labrador",
  "nova scotia",
  "ontario",
  "prince edward island",
  "quebec",
  "saskatchewan",
  "yukon",
  "northwest territories",
  "nunavut",
]);

export interface Birthplace {
  /** The birthplace as one line ("belfast, northern ireland, uk"). */
  text: string;
  /** The country, as the table names it (UK → its constituent country), or null when none is found. */
  country: string | null;
  /** How the country was found when it was not written as the last part (e.g. "US state virginia"). */
  inferred?: string;
}

/**
 * Reads a Python-list-like birthplace (`['belfast,', 'northern', 'ireland,', 'uk']`, items quoted with '
 * or ") or a plain one (`belfast, northern ireland, uk`) into its comma-separated parts.
 */
export function birthplaceParts(raw: string): string[] {
  let text = raw.trim();
  if (text.startsWith("[") && text.endsWith("]")) {
    const items = [...text.slice(1, -1).matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2]);
    text = items.join(" ");
  }
  return text.toLowerCase().split(",").map((p) => p.replace(/\s+/g, " ").trim()).filter((p) => p !== "");
}

/**
 * The birth country of a birthplace: the last part, with aliases resolved; "uk" resolved to the
 * constituent country named before it (none named → England, noted in `inferred`); a US state or
 * Canadian province as the last part → usa / canada (noted). Unknown names stay as written, for the
 * caller to report.
 */
export function parseBirthplace(raw: string): Birthplace {
  const parts = birthplaceParts(raw);
  const text = parts.join(", ");
  if (parts.length === 0) return { text, country: null };
  const last = COUNTRY_ALIASES[parts[parts.length - 1]] ?? parts[parts.length - 1];
  if (UK_NAMES.has(last)) {
    const named = UK_COUNTRIES.find((c) => parts.slice(0, -1).includes(c));
    return named ? { text, country: named } : {
      text,
      country: "england",
      inferred: "UK birthplace naming no constituent country, taken as England",
    };
  }
  if (US_STATES.has(last)) return { text, country: "usa", inferred: `US state ${last}, no country given` };
  if (CANADIAN_PROVINCES.has(last)) {
    return { text, country: "canada", inferred: `Canadian province ${last}, no country given` };
  }
  return { text, country: last };
}

/** A native language as the table names it: first line, ISO code and punctuation dropped ("mandarin\n(cmn)"). */
export function normalizeLanguage(raw: string): string {
  return raw.split("\n")[0].replace(/\([^)]*\)/g, "").replace(/[^a-z' -]/gi, " ").replace(/\s+/g, " ")
    .trim().toLowerCase();
}

export interface SpeakerLabel {
  /** The narrow label, or null when the table does not know the country / language. */
  narrow: string | null;
  /** What decided it: "birthplace" (native English) or "native language". */
  basis: "birthplace" | "native language";
  /** The key looked up in the table (a country or a language). */
  key: string;
  birthplace?: Birthplace;
}

/** The narrow label of one speaker from the native language and (for native English speakers) birthplace. */
export function labelSpeaker(nativeLanguage: string, birthplace: string | undefined): SpeakerLabel {
  const l1 = normalizeLanguage(nativeLanguage);
  if (l1 === "english") {
    const bp = parseBirthplace(birthplace ?? "");
    const key = bp.country ?? "(no birthplace)";
    return { narrow: BY_COUNTRY.get(key) ?? null, basis: "birthplace", key, birthplace: bp };
  }
  return { narrow: BY_LANGUAGE.get(l1) ?? null, basis: "native language", key: l1 || "(no native language)" };
}

/** SAA_ACCENT_TABLE as a Markdown table (docs/data.md shows this; a test keeps the two equal). */
export function accentTableMarkdown(): string {
  const lines = [
    "| narrow label (broad) | native English speakers born in | L2 speakers whose native language is |",
    "| --- | --- | --- |",
  ];
  for (const r of SAA_ACCENT_TABLE) {
    lines.push(
      `| ${r.narrow} (${broadOf(r.narrow)}) | ${r.birthCountries.join(", ") || "—"} | ` +
        `${r.nativeLanguages.join(", ") || "—"} |`,
    );
  }
  return lines.join("\n");
}
