//! Shop input and its validation: products and variants (admins), the
//! shipping address (members), and quantities. One function per input, so
//! the pages and the JSON API cannot drift.

use rocket::form::FromForm;
use serde::{Deserialize, Serialize};

use super::money::Currency;
use crate::error::FieldErrors;
use crate::web::text::{check_length, one_line};

/// Longest product title.
pub const TITLE_MAX: usize = 200;
/// Longest Markdown description.
pub const DESCRIPTION_MAX: usize = 20_000;
/// Most of one variant in one cart or order.
pub const QUANTITY_MAX: i64 = 99;
/// Longest search text.
pub const QUERY_MAX: usize = 100;

/// The product form (admins). A new product gets one variant from `sku`,
/// `price` and `stock`; `variant_name` names it (empty for a product with
/// no options).
#[derive(Debug, Clone, Default, FromForm)]
pub struct ProductForm {
    #[field(default = String::new())]
    pub title: String,
    #[field(default = String::new())]
    pub slug: String,
    #[field(default = String::new())]
    pub description: String,
    #[field(default = String::new())]
    pub compare_at: String,
    #[field(default = String::new())]
    pub category: String,
    #[field(default = false)]
    pub active: bool,
    #[field(default = String::new())]
    pub sku: String,
    #[field(default = String::new())]
    pub price: String,
    #[field(default = String::new())]
    pub stock: String,
}

/// A validated product.
#[derive(Debug, Clone)]
pub struct ProductInput {
    pub title: String,
    pub slug: String,
    pub description: String,
    pub compare_at: Option<i64>,
    pub category: Option<String>,
    pub active: bool,
}

/// A validated variant.
#[derive(Debug, Clone)]
pub struct VariantInput {
    pub name: String,
    pub sku: String,
    pub price: i64,
    pub stock: i64,
}

/// The variant form (admins).
#[derive(Debug, Clone, Default, FromForm)]
pub struct VariantForm {
    #[field(default = String::new())]
    pub name: String,
    #[field(default = String::new())]
    pub sku: String,
    #[field(default = String::new())]
    pub price: String,
    #[field(default = String::new())]
    pub stock: String,
}

/// A slug from what was typed, or from the title when left empty:
/// lower-case ASCII letters, digits and single hyphens.
pub fn slug_of(typed: &str, title: &str) -> String {
    let source = if typed.trim().is_empty() {
        title
    } else {
        typed
    };
    let mut slug = String::new();
    for c in source.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 80 {
            break;
        }
    }
    slug.trim_end_matches('-').to_string()
}

fn amount(
    errors: &mut FieldErrors,
    field: &'static str,
    currency: &Currency,
    text: &str,
) -> Option<i64> {
    match currency.parse_amount(text) {
        Ok(v) => Some(v),
        Err(m) => {
            errors.add(field, m);
            None
        }
    }
}

fn count(errors: &mut FieldErrors, field: &'static str, text: &str) -> Option<i64> {
    match text.trim().parse::<i64>() {
        Ok(n) if (0..=1_000_000).contains(&n) => Some(n),
        _ => {
            errors.add(field, "Enter a whole number from 0 to 1,000,000.");
            None
        }
    }
}

impl ProductForm {
    /// Validate the product's own fields.
    pub fn product(&self, currency: &Currency) -> Result<ProductInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = one_line(&self.title);
        check_length(
            &mut errors,
            "title",
            &title,
            TITLE_MAX,
            "Give the product a title.",
        );
        let slug = slug_of(&self.slug, &title);
        if slug.is_empty() {
            errors.add("slug", "Use letters or digits in the address.");
        }
        let description = self.description.replace("\r\n", "\n");
        if description.chars().count() > DESCRIPTION_MAX {
            errors.add(
                "description",
                format!("Use at most {DESCRIPTION_MAX} characters."),
            );
        }
        if description.contains('\0') {
            errors.add("description", "Remove the NUL character.");
        }
        let compare_at = if self.compare_at.trim().is_empty() {
            None
        } else {
            amount(&mut errors, "compare_at", currency, &self.compare_at)
        };
        let category = one_line(&self.category);
        if category.chars().count() > 60 || category.contains('\0') {
            errors.add("category", "Use at most 60 characters.");
        }
        if errors.is_empty() {
            Ok(ProductInput {
                title,
                slug,
                description,
                compare_at,
                category: (!category.is_empty()).then_some(category),
                active: self.active,
            })
        } else {
            Err(errors)
        }
    }

    /// Validate the product and its first variant together.
    pub fn validate(
        &self,
        currency: &Currency,
    ) -> Result<(ProductInput, VariantInput), FieldErrors> {
        let product = self.product(currency);
        let variant = VariantForm {
            name: String::new(),
            sku: self.sku.clone(),
            price: self.price.clone(),
            stock: self.stock.clone(),
        }
        .validate(currency);
        match (product, variant) {
            (Ok(p), Ok(v)) => Ok((p, v)),
            (p, v) => {
                let mut errors = FieldErrors::default();
                for e in [p.err(), v.err()].into_iter().flatten() {
                    for (field, message) in e.0 {
                        errors.add(field, message);
                    }
                }
                Err(errors)
            }
        }
    }
}

impl VariantForm {
    /// Validate a variant.
    pub fn validate(&self, currency: &Currency) -> Result<VariantInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = one_line(&self.name);
        if name.chars().count() > 60 || name.contains('\0') {
            errors.add("name", "Use at most 60 characters.");
        }
        let sku = one_line(&self.sku).to_uppercase();
        check_length(
            &mut errors,
            "sku",
            &sku,
            40,
            "Give it a SKU (stock-keeping unit).",
        );
        let price = amount(&mut errors, "price", currency, &self.price);
        let stock = count(&mut errors, "stock", &self.stock);
        match (price, stock) {
            (Some(price), Some(stock)) if errors.is_empty() => Ok(VariantInput {
                name,
                sku,
                price,
                stock,
            }),
            _ => Err(errors),
        }
    }
}

/// A shipping address as typed (checkout form and JSON).
#[derive(Debug, Clone, Default, FromForm, Deserialize, Serialize)]
pub struct AddressForm {
    #[field(default = String::new())]
    #[serde(default)]
    pub name: String,
    #[field(default = String::new())]
    #[serde(default)]
    pub line1: String,
    #[field(default = String::new())]
    #[serde(default)]
    pub line2: String,
    #[field(default = String::new())]
    #[serde(default)]
    pub city: String,
    #[field(default = String::new())]
    #[serde(default)]
    pub postcode: String,
    #[field(default = String::new())]
    #[serde(default)]
    pub country: String,
}

impl AddressForm {
    /// The address with every field on one line and checked.
    pub fn validate(&self) -> Result<AddressForm, FieldErrors> {
        let mut errors = FieldErrors::default();
        let a = AddressForm {
            name: one_line(&self.name),
            line1: one_line(&self.line1),
            line2: one_line(&self.line2),
            city: one_line(&self.city),
            postcode: one_line(&self.postcode),
            country: one_line(&self.country),
        };
        check_length(
            &mut errors,
            "name",
            &a.name,
            100,
            "Whom should we send it to?",
        );
        check_length(
            &mut errors,
            "line1",
            &a.line1,
            120,
            "Enter the street and number.",
        );
        if a.line2.chars().count() > 120 || a.line2.contains('\0') {
            errors.add("line2", "Use at most 120 characters.");
        }
        check_length(&mut errors, "city", &a.city, 80, "Enter the town or city.");
        check_length(
            &mut errors,
            "postcode",
            &a.postcode,
            20,
            "Enter the postcode.",
        );
        check_length(&mut errors, "country", &a.country, 60, "Enter the country.");
        if errors.is_empty() {
            Ok(a)
        } else {
            Err(errors)
        }
    }
}

/// A quantity as typed: 1 to [`QUANTITY_MAX`] (0 removes, where allowed).
pub fn quantity(text: &str, allow_zero: bool) -> Result<i64, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if (1..=QUANTITY_MAX).contains(&n) || (allow_zero && n == 0) => Ok(n),
        _ => Err(format!("Choose a quantity from 1 to {QUANTITY_MAX}.")),
    }
}
