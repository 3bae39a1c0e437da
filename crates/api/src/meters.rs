//! Meter uploads' facts: what the store knows that decides whose meters an upload may hold.
//! Shared by `POST /api/v1/meters/{month}` and `lvdian meters import`, so both refuse the same
//! files; the rules themselves are `settlement::check_upload`.

use std::collections::BTreeMap;

/// What decides whose meters an upload may hold: participants' roles, projects' meters, and
/// who the upload's meters were stored under before.
pub async fn upload_facts(
    store: &store::Store,
    data: &settlement::MeterData,
) -> Result<settlement::UploadFacts, store::StoreError> {
    let participants = store
        .participants()
        .await?
        .into_iter()
        .map(|p| (p.id, p.role))
        .collect();
    let mut project_meters = BTreeMap::new();
    for project in store.projects().await? {
        for meter in project.meters {
            project_meters.insert(meter, (project.code.to_string(), project.owner));
        }
    }
    // Only ids that can be stored are looked up (PostgreSQL refuses to even compare a NUL);
    // the others are refused by the rules anyway.
    let names: Vec<&str> = data
        .meters()
        .iter()
        .map(|m| m.name())
        .filter(|m| domain::TextRule::IDENTIFIER.parse("meter", m).is_ok())
        .collect();
    let mut stored_owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (meter, participant) in store.meter_owners(&names).await? {
        stored_owners.entry(meter).or_default().push(participant);
    }
    Ok(settlement::UploadFacts {
        participants,
        project_meters,
        stored_owners,
    })
}
