def test_item_page_renders_for_owner(org, make, login):
    item = make.item(org.county_a, org.off_a)
    page = login(org.off_a).get(f"/items/{item.id}")
    assert page.status_code == 200
    assert item.title in page.get_data(as_text=True)
