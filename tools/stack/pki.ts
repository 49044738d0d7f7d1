/**
 * Throw-away certificates for TLS tests and benchmarks, made with `openssl`
 * in a directory the caller owns: a CA (`<name>.pem`, `<name>.key`) and
 * certificates it signs (`<name>.pem`, `<name>.key`), EC P-256, valid 2 days.
 *
 * @module
 */

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/**
 * Runs `openssl` in `cwd`.
 *
 * @throws {Error} With openssl's own output when it fails.
 */
export async function runOpenssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot run openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** What {@linkcode issueCertificate} signs. */
export interface CertificateRequest {
  /** File stem: `<name>.pem`, `<name>.key`. */
  name: string;
  /** Subject, e.g. `/CN=127.0.0.1`. @default {`/CN=<name>`} */
  subject?: string;
  /** X.509 v3 extensions, one per line (e.g. `subjectAltName=IP:127.0.0.1`). */
  extensions: string;
  /** Stem of the signing CA's files. @default {"ca"} */
  ca?: string;
}

/**
 * Makes a self-signed CA: `<dir>/<name>.pem` and `<dir>/<name>.key`.
 *
 * @example A CA and a server certificate for 127.0.0.1
 * ```ts ignore
 * const dir = await Deno.makeTempDir();
 * await makeCertificateAuthority(dir);
 * await issueCertificate(dir, {
 *   name: "server",
 *   extensions: "subjectAltName=IP:127.0.0.1",
 * });
 * ```
 */
export async function makeCertificateAuthority(
  dir: string,
  name = "ca",
  subject = "/CN=ari-proxy test CA",
): Promise<void> {
  await runOpenssl(dir, [
    "req",
    "-x509",
    ...EC_KEY,
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    subject,
  ]);
}

/** Issues a certificate signed by a CA made with {@linkcode makeCertificateAuthority}. */
export async function issueCertificate(
  dir: string,
  request: CertificateRequest,
): Promise<void> {
  const { name, subject = `/CN=${name}`, extensions, ca = "ca" } = request;
  await Deno.writeTextFile(`${dir}/${name}.ext`, `${extensions}\n`);
  await runOpenssl(dir, [
    "req",
    ...EC_KEY,
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  ]);
  await runOpenssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}
