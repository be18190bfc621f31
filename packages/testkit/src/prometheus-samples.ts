/** The samples of one metric family in a Prometheus text scrape: label text → value. */
export function prometheusSamples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (match !== null) found.set(match[1]!, Number(match[2]));
  }
  return found;
}

/** The one sample of `name` whose labels include every `label="value"` given; undefined when none, an error when several. */
export function prometheusSample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const matches = [...prometheusSamples(text, name)].filter(([labelText]) => wanted.every((label) => labelText.split(",").includes(label)));
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match ${wanted.join(",")}`);
  return matches[0]?.[1];
}
