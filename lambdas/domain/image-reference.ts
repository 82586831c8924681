/**
 * The OCI image-reference grammar (the one container registries and runtimes share, from
 * distribution/reference): `[registry[:port]/]path[:tag][@algorithm:digest]`. An executor's `image`
 * must match it before anything is stored, so no runtime can ever read it as an option (it cannot
 * start with `-`), a second argument (no whitespace) or a path (`..`, a leading `/`).
 */

const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|-+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);

/** The longest repository name registries accept. */
const MAX_NAME_LENGTH = 255;

/** Why `image` is not an image reference, or undefined when it is one. */
export function imageReferenceProblem(image: string): string | undefined {
  const match = REFERENCE.exec(image);
  if (match === null) {
    return 'must be an image reference such as ubuntu:24.04, quay.io/biocontainers/samtools:1.19 or registry.example.org:5000/team/tool@sha256:<hex>';
  }
  if ((match[1] as string).length > MAX_NAME_LENGTH) return `must have a name of at most ${MAX_NAME_LENGTH} characters`;
  return undefined;
}

/**
 * The fully qualified name a registry client pulls for a reference, as Docker and ECS read it: a
 * first component that is no host (no `.` or `:`, not `localhost`) means Docker Hub, and a single
 * component there means its `library/` namespace. `ubuntu:24.04` → `docker.io/library/ubuntu:24.04`.
 */
export function qualifiedImage(image: string): string {
  const slash = image.indexOf('/');
  const first = slash === -1 ? '' : image.slice(0, slash);
  const isHost = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['));
  if (isHost) return image;
  return slash === -1 ? `docker.io/library/${image}` : `docker.io/${image}`;
}
