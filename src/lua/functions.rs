//! The process-wide function libraries (FUNCTION LOAD ... FCALL): each library's code and
//! the functions it registered, and which library each function belongs to.
//!
//! Every loop's interpreter keeps its own compiled copy of the libraries; the generation
//! moves on with every change, and an interpreter whose copy is older reloads them all from
//! here before it runs a function ([`Libraries::snapshot`]). Changes are made under the write
//! lock, so a reader sees a library set that was whole at some point.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;

use super::engine::{valid_function_name, FunctionMeta};

/// One library: its code as loaded (shebang included) and its functions.
#[derive(Clone, Debug)]
pub struct Library {
    pub name: String,
    pub code: Bytes,
    pub functions: Vec<FunctionMeta>,
}

#[derive(Default)]
struct State {
    libraries: BTreeMap<String, Library>,
    /// Function name -> (library name, flags).
    functions: HashMap<String, (String, u32)>,
}

#[derive(Default)]
pub struct Libraries {
    state: RwLock<State>,
    generation: AtomicU64,
}

/// A library's shebang: `#!<engine> name=<name>`; the name and where the code starts (the
/// shebang's line feed).
pub fn library_metadata(code: &[u8]) -> Result<(String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]);
    let parts: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some(first) = parts.first() else {
        return Err("Invalid library metadata".into());
    };
    let engine = &first[2..];
    let mut name: Option<String> = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(format!("Invalid metadata value given: {part}"));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    if !valid_function_name(&name) {
        return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{engine}' not found"));
    }
    Ok((name, end))
}

/// Compiles library codes read from an RDB file (each in a scratch interpreter run of the
/// load context, reporting `version` as `redis.REDIS_VERSION`) into libraries; the first
/// failure's text otherwise.
pub fn compile_all(
    codes: &[Vec<u8>],
    version: &str,
    version_num: i64,
) -> Result<Vec<Library>, String> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let mut engine = super::engine::Engine::new(version, version_num).map_err(|e| e.to_string())?;
    let mut libraries: Vec<Library> = Vec::with_capacity(codes.len());
    for code in codes {
        let (name, start) = library_metadata(code)?;
        let functions = engine.load_library(&code[start..])?;
        if libraries.iter().any(|l| l.name == name) {
            return Err(format!("Library '{name}' already exists"));
        }
        libraries.push(Library {
            name,
            code: Bytes::copy_from_slice(code),
            functions,
        });
    }
    Ok(libraries)
}

impl Libraries {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Every library and the generation they belong to.
    pub fn snapshot(&self) -> (u64, Vec<Library>) {
        let state = self.state.read();
        (
            self.generation(),
            state.libraries.values().cloned().collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<Library> {
        self.state.read().libraries.get(name).cloned()
    }

    /// The library and flags of function `name`.
    pub fn function(&self, name: &str) -> Option<(String, u32)> {
        self.state.read().functions.get(name).cloned()
    }

    /// Adds `library` (replacing the one of its name when `replace`); the error is Redis's
    /// text. Returns the new generation.
    pub fn insert(&self, library: Library, replace: bool) -> Result<u64, String> {
        let mut state = self.state.write();
        let old = state.libraries.get(&library.name);
        if old.is_some() && !replace {
            return Err(format!("Library '{}' already exists", library.name));
        }
        for f in &library.functions {
            if let Some((owner, _)) = state.functions.get(&f.name) {
                if *owner != library.name {
                    return Err(format!("Function {} already exists", f.name));
                }
            }
        }
        if let Some(old) = state.libraries.remove(&library.name) {
            for f in &old.functions {
                state.functions.remove(&f.name);
            }
        }
        for f in &library.functions {
            state
                .functions
                .insert(f.name.clone(), (library.name.clone(), f.flags));
        }
        state.libraries.insert(library.name.clone(), library);
        Ok(self.generation.fetch_add(1, Ordering::AcqRel) + 1)
    }

    /// Adds several libraries at once (FUNCTION RESTORE APPEND/REPLACE): either all or, on
    /// a name collision (a library without `replace`, or a function of another library), none.
    pub fn join(&self, incoming: Vec<Library>, replace: bool) -> Result<(), String> {
        let mut state = self.state.write();
        let replaced: Vec<&str> = incoming
            .iter()
            .filter(|l| state.libraries.contains_key(&l.name))
            .map(|l| l.name.as_str())
            .collect();
        if let Some(name) = replaced.first().filter(|_| !replace) {
            return Err(format!("Library {name} already exists"));
        }
        for lib in &incoming {
            for f in &lib.functions {
                if let Some((owner, _)) = state.functions.get(&f.name) {
                    if !replaced.contains(&owner.as_str()) {
                        return Err(format!("Function {} already exists", f.name));
                    }
                }
            }
        }
        for lib in incoming {
            if let Some(old) = state.libraries.remove(&lib.name) {
                for f in &old.functions {
                    state.functions.remove(&f.name);
                }
            }
            for f in &lib.functions {
                state
                    .functions
                    .insert(f.name.clone(), (lib.name.clone(), f.flags));
            }
            state.libraries.insert(lib.name.clone(), lib);
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Removes library `name`; false when there is none.
    pub fn remove(&self, name: &str) -> bool {
        let mut state = self.state.write();
        let Some(old) = state.libraries.remove(name) else {
            return false;
        };
        for f in &old.functions {
            state.functions.remove(&f.name);
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Replaces every library with `libraries` (FUNCTION FLUSH, RESTORE FLUSH, loading).
    pub fn replace_all(&self, libraries: Vec<Library>) {
        let mut state = self.state.write();
        state.libraries.clear();
        state.functions.clear();
        for lib in libraries {
            for f in &lib.functions {
                state
                    .functions
                    .insert(f.name.clone(), (lib.name.clone(), f.flags));
            }
            state.libraries.insert(lib.name.clone(), lib);
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// (libraries, functions): FUNCTION STATS, INFO.
    pub fn counts(&self) -> (usize, usize) {
        let state = self.state.read();
        (state.libraries.len(), state.functions.len())
    }

    /// Bytes of the libraries' code (INFO `used_memory_functions`).
    pub fn code_bytes(&self) -> usize {
        self.state
            .read()
            .libraries
            .values()
            .map(|l| l.code.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_as_redis_parses_it() {
        assert_eq!(
            library_metadata(b"#!lua name=lib\nx"),
            Ok(("lib".into(), 14))
        );
        assert_eq!(
            library_metadata(b"#!LUA NAME=lib\n"),
            Ok(("lib".into(), 14))
        );
        assert_eq!(
            library_metadata(b"x"),
            Err("Missing library metadata".into())
        );
        assert_eq!(
            library_metadata(b"#!lua name=x"),
            Err("Invalid library metadata".into())
        );
        assert_eq!(
            library_metadata(b"#!lua\n"),
            Err("Library name was not given".into())
        );
        assert_eq!(
            library_metadata(b"#!lua name=a name=b\n"),
            Err("Invalid metadata value, name argument was given multiple times".into())
        );
        assert_eq!(
            library_metadata(b"#!lua foo=bar\n"),
            Err("Invalid metadata value given: foo=bar".into())
        );
        assert_eq!(
            library_metadata(b"#!js name=x\n"),
            Err("Engine 'js' not found".into())
        );
    }
}
