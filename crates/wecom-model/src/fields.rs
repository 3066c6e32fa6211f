//! Tolerant readers for the fields of one JSON object: every read has a default, numbers may come as
//! strings (third-party re-serialisations do that, reference §3.6), and a value of the wrong type is
//! a warning, never an error. The reader remembers which keys it read, so whatever is left is the
//! object's unknown fields (`extra`).

use serde_json::{Map, Value};

use crate::warning::ParseWarning;

/// Reads the fields of one object (or of a missing one: every read then yields its default).
pub(crate) struct Fields<'a, 'w> {
    map: Option<&'a Map<String, Value>>,
    /// JSON location of the object, `""` for the record itself.
    path: String,
    seen: Vec<&'static str>,
    pub(crate) warnings: &'w mut Vec<ParseWarning>,
    /// How many JSON-string `content` hops lie above this object.
    pub(crate) depth: usize,
}

impl<'a, 'w> Fields<'a, 'w> {
    pub(crate) fn new(
        map: Option<&'a Map<String, Value>>,
        path: String,
        warnings: &'w mut Vec<ParseWarning>,
        depth: usize,
    ) -> Fields<'a, 'w> {
        Fields {
            map,
            path,
            seen: Vec::new(),
            warnings,
            depth,
        }
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The location of `key` inside this object.
    pub(crate) fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value of `key`, marking it read. `null` reads as absent.
    pub(crate) fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.push(key);
        self.map?.get(key).filter(|v| !v.is_null())
    }

    /// Whether there is an object at all (a missing payload reads as all defaults).
    pub(crate) fn is_present(&self) -> bool {
        self.map.is_some()
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.is_some_and(|m| m.contains_key(key))
    }

    fn wrong(&mut self, key: &str, expected: &'static str) {
        let path = self.child_path(key);
        self.warnings
            .push(ParseWarning::WrongType { path, expected });
    }

    /// Text; a number is taken as its decimal text (ids such as `voteid` or numeric userids may be
    /// re-serialised as numbers).
    pub(crate) fn str(&mut self, key: &'static str) -> String {
        match self.get(key) {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => {
                self.wrong(key, "string");
                String::new()
            }
        }
    }

    pub(crate) fn i64(&mut self, key: &'static str) -> i64 {
        match self.get(key) {
            None => 0,
            Some(v) => match as_i64(v) {
                Some(n) => n,
                None => {
                    self.wrong(key, "integer");
                    0
                }
            },
        }
    }

    /// An unsigned number that may exceed `i64::MAX` (meeting ids, collect ids, sizes).
    pub(crate) fn u64(&mut self, key: &'static str) -> Option<u64> {
        match self.get(key) {
            None => None,
            Some(v) => {
                let n = as_u64(v);
                if n.is_none() {
                    self.wrong(key, "unsigned integer");
                }
                n
            }
        }
    }

    pub(crate) fn f64(&mut self, key: &'static str) -> f64 {
        let v = match self.get(key) {
            None => return 0.0,
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            Some(_) => None,
        };
        v.unwrap_or_else(|| {
            self.wrong(key, "number");
            0.0
        })
    }

    pub(crate) fn bool(&mut self, key: &'static str) -> bool {
        let v = match self.get(key) {
            None => return false,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            Some(Value::String(s)) => match s.trim() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            Some(_) => None,
        };
        v.unwrap_or_else(|| {
            self.wrong(key, "bool");
            false
        })
    }

    /// A list of texts; a lone text is taken as a one-element list.
    pub(crate) fn strings(&mut self, key: &'static str) -> Vec<String> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::String(s)) => {
                self.wrong(key, "array of strings");
                vec![s.clone()]
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut bad = false;
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        Value::Number(n) => out.push(n.to_string()),
                        _ => bad = true,
                    }
                }
                if bad {
                    self.wrong(key, "array of strings");
                }
                out
            }
            Some(_) => {
                self.wrong(key, "array of strings");
                Vec::new()
            }
        }
    }

    /// The objects of an array, with their index in the array (non-objects are skipped with a
    /// warning, so indexes stay those of the JSON).
    pub(crate) fn objects(&mut self, key: &'static str) -> Vec<(usize, &'a Map<String, Value>)> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Object(m) => out.push((i, m)),
                        _ => {
                            let path = format!("{}[{i}]", self.child_path(key));
                            self.warnings.push(ParseWarning::WrongType {
                                path,
                                expected: "object",
                            });
                        }
                    }
                }
                out
            }
            Some(Value::Object(m)) => {
                // A single object where a list was expected: read it as a list of one.
                self.wrong(key, "array of objects");
                vec![(0, m)]
            }
            Some(_) => {
                self.wrong(key, "array of objects");
                Vec::new()
            }
        }
    }

    /// The elements of an array, whatever their type (a lone object reads as a list of one).
    pub(crate) fn values(&mut self, key: &'static str) -> Vec<&'a Value> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(v @ Value::Object(_)) => {
                self.wrong(key, "array of objects");
                vec![v]
            }
            Some(_) => {
                self.wrong(key, "array of objects");
                Vec::new()
            }
        }
    }

    /// The fields not read so far: what this version of the model does not know.
    pub(crate) fn extra(&self) -> Map<String, Value> {
        match self.map {
            None => Map::new(),
            Some(m) => m
                .iter()
                .filter(|(k, _)| !self.seen.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// An integer from a JSON number (integral floats included) or a decimal string.
pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= i64::MIN as f64 && *f <= i64::MAX as f64)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An unsigned integer from a JSON number (integral floats included) or a decimal string.
pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
