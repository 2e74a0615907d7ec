//! §11.5 Daily roll: the day the services wrote is rolled (`obspec-roll roll
//! --date <today>` forces it) from each service's spool to a local store and
//! to the S3 server; the manifests carry BLAKE3 checksums (and the S3 copy of
//! each manifest is byte-identical to the local one); `obspec-trail export` +
//! `verify` with the trusted key pass, and a tampered copy fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use obspec_trail::Date;
use obspec_trail::sign::{Signer, TrustedKeys};
use obspec_trail::verify::{VerifyOptions, verify_path};

use crate::dod::{Ctx, ProofResult, net};

/// The key id the roll signs manifests with.
const KID: &str = "dod-roll-1";

fn run_tool(program: &Path, args: &[String], env: &[(&str, String)]) -> Result<(bool, String), String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text.trim().to_owned()))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)?.flatten() {
        let (p, d) = (e.path(), to.join(e.file_name()));
        if p.is_dir() { copy_dir(&p, &d)? } else { std::fs::copy(&p, &d).map(|_| ())? }
    }
    Ok(())
}

/// The first trail file of `day` under a store or trail root.
fn a_trail_file(root: &Path, day: Date) -> Option<PathBuf> {
    let dir = root.join("audit").join(day.path());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).collect();
    files.sort();
    files.into_iter().find(|p| p.extension().is_some_and(|e| e == "ndjson"))
}

/// `GET` from the S3 server as the roll's user. moto checks who is asking
/// (objects are private) but not the signature, so a SigV4 header naming the
/// access key is enough; a real S3 or R2 needs a signed request.
async fn s3_get(ctx: &Ctx, url: &str, day: Date) -> Result<net::Resp, String> {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=dod/{:04}{:02}{:02}/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
        day.year(),
        day.month(),
        day.day()
    );
    let req = net::request(hyper::Method::GET, url, &[("authorization".to_owned(), auth)], None)?;
    net::send(&ctx.client, req, std::time::Duration::from_secs(10)).await
}

/// Runs the proof (the services are stopped: their spools are complete).
pub async fn run(ctx: &mut Ctx, r: &mut ProofResult) -> Result<(), String> {
    let day = Date::today_utc();
    let dir = ctx.run.join("roll");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let seed = dir.join("key.seed");
    let seed_hex: String = (0..4).map(|_| format!("{:016x}", obspec::http::trace::random_u64())).collect();
    std::fs::write(&seed, &seed_hex).map_err(|e| format!("{}: {e}", seed.display()))?;
    let signer = Signer::load(KID, &seed).map_err(|e| e.to_string())?;
    let mut trusted = TrustedKeys::new();
    trusted.insert_key(KID, signer.verifying_key());
    // The auditor's trusted key, handed over out of band: `KID ed25519 HEX`.
    let public: String = signer.verifying_key().to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let trusted_file = dir.join("trusted-keys");
    std::fs::write(&trusted_file, format!("{KID} ed25519 {public}\n")).map_err(|e| e.to_string())?;
    let roll_bin = ctx.bin_dir.join("obspec-roll");
    let trail_bin = ctx.bin_dir.join("obspec-trail");

    // The S3 bucket (object_store cannot create one; moto accepts a plain PUT).
    let bucket = "dod-archive";
    let s3 = format!("http://127.0.0.1:{}", ctx.s3_port);
    let put = net::request(hyper::Method::PUT, &format!("{s3}/{bucket}"), &[], None)?;
    let made = net::send(&ctx.client, put, std::time::Duration::from_secs(10)).await?;
    if made.status != 200 {
        return Err(format!("creating bucket {bucket}: HTTP {}", made.status));
    }
    let s3_env = [
        ("AWS_ACCESS_KEY_ID", "dod".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "dod".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];

    let mut rolled = 0;
    let components: Vec<String> = ctx.services.keys().cloned().collect();
    for c in &components {
        let spool = ctx.run.join(c).join("spool");
        if a_trail_file(&spool, day).is_none() {
            r.figure(format!("{c} trails"), "no trail file today: nothing to roll");
            continue;
        }
        rolled += 1;
        let local = dir.join("store").join(c);
        // Two copies of the spool, one per store: each roll deletes what it uploaded.
        let spool_s3 = ctx.run.join(c).join("spool-s3");
        copy_dir(&spool, &spool_s3).map_err(|e| format!("{}: {e}", spool_s3.display()))?;
        let common = |spool: &Path, store: String| {
            vec![
                "roll".to_owned(),
                "--spool".to_owned(),
                spool.display().to_string(),
                "--date".to_owned(),
                day.to_string(),
                "--store".to_owned(),
                store,
                "--key-seed".to_owned(),
                seed.display().to_string(),
                "--kid".to_owned(),
                KID.to_owned(),
            ]
        };
        // 1. Local store.
        let (ok, out) = run_tool(&roll_bin, &common(&spool, local.display().to_string()), &[])?;
        r.check(
            format!("{c}: day {day} rolled to the local store"),
            ok,
            out.lines().last().unwrap_or_default().to_owned(),
        );
        // 2. S3.
        let url = format!("s3://{bucket}/{c}?endpoint={s3}&region=us-east-1");
        let (ok, out) = run_tool(&roll_bin, &common(&spool_s3, url), &s3_env)?;
        r.check(format!("{c}: day {day} rolled to S3 (moto)"), ok, out.lines().last().unwrap_or_default().to_owned());

        // Manifests with checksums, locally and in S3.
        let m = obspec_trail::manifest::load_manifest(&local, day).map_err(|e| e.to_string())?;
        let files = m.as_ref().map_or(0, |m| m.files.len());
        let sums = m.as_ref().map_or(0, |m| m.files.iter().filter(|f| f.blake3 != [0u8; 32]).count());
        r.check(
            format!("{c}: the day manifest lists every trail file with its BLAKE3"),
            files > 0 && sums == files,
            format!("{files} files, {sums} with a BLAKE3 and a Merkle root"),
        );
        let rel = format!("manifests/{}.json", day.path());
        let local_bytes = std::fs::read(local.join(&rel)).unwrap_or_default();
        let remote = s3_get(ctx, &format!("{s3}/{bucket}/{c}/{rel}"), day).await?;
        r.check(
            format!("{c}: the manifest in S3 is the one sealed locally"),
            remote.status == 200 && !local_bytes.is_empty() && remote.body.as_ref() == local_bytes.as_slice(),
            format!("GET {bucket}/{c}/{rel}: HTTP {}, {} bytes", remote.status, remote.body.len()),
        );
        let log_rel = format!("logs-manifests/{}.json", day.path());
        let logs = s3_get(ctx, &format!("{s3}/{bucket}/{c}/{log_rel}"), day).await?;
        let logs_ok = logs.status == 200 && String::from_utf8_lossy(&logs.body).contains("blake3");
        r.check(
            format!("{c}: the logs of the day are in S3 with a checksum sidecar"),
            logs_ok,
            format!("GET {bucket}/{c}/{log_rel}: HTTP {}", logs.status),
        );

        // 3. The auditor's export and verify, with the trusted key.
        let bundle = dir.join(format!("{c}-{day}.tar.gz"));
        let args = vec![
            "export".to_owned(),
            local.display().to_string(),
            day.to_string(),
            day.to_string(),
            bundle.display().to_string(),
        ];
        let (ok, out) = run_tool(&trail_bin, &args, &[])?;
        r.check(format!("{c}: trails export"), ok, out);
        let opts = VerifyOptions { trusted_keys: Some(trusted.clone()), ..VerifyOptions::default() };
        let report = verify_path(&bundle, &opts).map_err(|e| e.to_string())?;
        // The signed head of the day, as the roll publishes it for auditors.
        let checkpoint = dir.join(format!("{c}-{day}.checkpoint"));
        let args = vec![
            "checkpoint".to_owned(),
            local.display().to_string(),
            day.to_string(),
            KID.to_owned(),
            seed.display().to_string(),
        ];
        let (ok, out) = run_tool(&trail_bin, &args, &[])?;
        std::fs::write(&checkpoint, format!("{out}\n")).map_err(|e| e.to_string())?;
        r.check(
            format!("{c}: signed checkpoint of the day"),
            ok,
            out.lines().next().unwrap_or_default().chars().take(120).collect::<String>(),
        );
        let verify_args = |b: &Path| {
            vec![
                "verify".to_owned(),
                b.display().to_string(),
                "--trusted-keys".to_owned(),
                trusted_file.display().to_string(),
                "--checkpoint".to_owned(),
                checkpoint.display().to_string(),
            ]
        };
        let (cli_ok, _) = run_tool(&trail_bin, &verify_args(&bundle), &[])?;
        r.check(
            format!(
                "{c}: the bundle verifies with the trusted key and the checkpoint (library and `obspec-trail verify`)"
            ),
            report.is_ok() && cli_ok,
            format!(
                "library: {}; cli: {}",
                if report.is_ok() { "ok" } else { "FAILED" },
                if cli_ok { "ok" } else { "FAILED" }
            ),
        );

        // 4. A tampered copy: one byte of one trail line changed.
        let tampered = dir.join("tampered").join(c);
        copy_dir(&local, &tampered).map_err(|e| format!("{}: {e}", tampered.display()))?;
        let victim = a_trail_file(&tampered, day).ok_or("no trail file to tamper with")?;
        let mut bytes = std::fs::read(&victim).map_err(|e| e.to_string())?;
        if let Some(i) = bytes.iter().position(|b| b.is_ascii_digit()) {
            bytes[i] = if bytes[i] == b'9' { b'8' } else { bytes[i] + 1 };
        }
        std::fs::write(&victim, bytes).map_err(|e| e.to_string())?;
        let bad = dir.join(format!("{c}-{day}-tampered.tar.gz"));
        let args = vec![
            "export".to_owned(),
            tampered.display().to_string(),
            day.to_string(),
            day.to_string(),
            bad.display().to_string(),
        ];
        let _ = run_tool(&trail_bin, &args, &[])?;
        let report = verify_path(&bad, &opts);
        let lib_fails = report.as_ref().map_or(true, |r| !r.is_ok());
        let (cli_ok, cli_out) = run_tool(&trail_bin, &verify_args(&bad), &[])?;
        r.check(
            format!("{c}: a tampered copy fails verification"),
            lib_fails && !cli_ok,
            cli_out
                .lines()
                .find(|l| l.contains("FAIL"))
                .unwrap_or(cli_out.lines().next().unwrap_or_default())
                .to_owned(),
        );
    }
    r.check("at least one service wrote trails today", rolled > 0, format!("{rolled} services rolled"));
    Ok(())
}
